"""Pictures as numpy arrays and PIL images; no plotting library, no streamlit."""

from __future__ import annotations

import numpy as np
from PIL import Image


def mosaic(images: np.ndarray, columns: int, padding: int = 1, pad_value: float = 1.0) -> np.ndarray:
    """Tile images (N, C, H, W) in [0, 1] into one (H', W', C) array, row by row.

    Cells left over in the last row are filled with ``pad_value``.
    """
    images = np.asarray(images, dtype=np.float32)
    n, channels, height, width = images.shape
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    grid = np.full((rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
                   pad_value, dtype=np.float32)
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image.transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    return grid


def to_pil(array: np.ndarray, scale: int = 1) -> Image.Image:
    """An (H, W, C) or (H, W) array in [0, 1] as a PIL image, enlarged ``scale`` times without blurring."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    image = Image.fromarray((np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return image


def stacked_rows(*rows: np.ndarray) -> np.ndarray:
    """Equal-length batches (N, C, H, W) tiled one above the other, e.g. inputs over reconstructions."""
    return mosaic(np.concatenate(rows), columns=len(rows[0]))


def code_cells(codes: np.ndarray, columns: int = 8) -> np.ndarray:
    """Latent codes (N, D) as small pictures (N, 3, ceil(D / columns), columns) in [0, 1], one cell per number.

    Red is positive, blue negative, white zero, on one scale shared by all the codes (the largest magnitude is the
    strongest colour), so that codes drawn side by side compare. Cells past the code's end are light grey.
    """
    codes = np.asarray(codes, dtype=np.float32)
    n, dims = codes.shape
    columns = max(1, min(columns, dims))
    rows = -(-dims // columns)
    strength = np.abs(codes).max() or 1.0
    t = np.zeros((n, rows * columns), dtype=np.float32)
    t[:, :dims] = codes / strength  # in [-1, 1]
    fade = 1.0 - np.abs(t)
    red = np.where(t < 0, fade, 1.0)  # positive: (1, 1-t, 1-t); negative: (1-|t|, 1-|t|, 1)
    blue = np.where(t > 0, fade, 1.0)
    cells = np.stack([red, np.minimum(red, blue), blue], axis=1)  # (N, 3, rows * columns)
    cells[:, :, dims:] = 0.85
    return cells.reshape(n, 3, rows, columns)
