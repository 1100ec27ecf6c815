"""Hand-drawn digits made to look like MNIST.

MNIST's own recipe (LeCun et al.): the digit's bounding box is scaled to fit a
20x20 box keeping its aspect ratio, then placed in a 28x28 image so that its
centre of mass sits at the centre.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

MNIST_SIDE, DIGIT_BOX = 28, 20
INK_THRESHOLD = 0.05


def ink_from_canvas(rgba: np.ndarray) -> np.ndarray:
    """Grey ink in [0, 1] (H, W) from a canvas image (H, W, 4) of light strokes on a dark or transparent
    background: the brightness of what was drawn, weighted by its opacity."""
    rgba = np.asarray(rgba, dtype=np.float32)
    if rgba.max() > 1.0:
        rgba = rgba / 255.0
    grey = rgba[..., :3].mean(axis=2)
    return grey * rgba[..., 3] if rgba.shape[2] == 4 else grey


def mnist_style(ink: np.ndarray) -> np.ndarray | None:
    """A (28, 28) image in [0, 1] made from white-on-black ink (H, W) like MNIST's digits; None if blank."""
    ink = np.clip(np.asarray(ink, dtype=np.float32), 0.0, 1.0)
    rows, columns = np.nonzero(ink > INK_THRESHOLD)
    if len(rows) == 0:
        return None
    crop = ink[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
    scale = DIGIT_BOX / max(crop.shape)
    height, width = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    resized = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize((width, height), Image.LANCZOS),
                         dtype=np.float32) / 255.0
    total = resized.sum()
    centre_row = (resized.sum(axis=1) * np.arange(height)).sum() / total
    centre_col = (resized.sum(axis=0) * np.arange(width)).sum() / total
    top = int(np.clip(round(MNIST_SIDE / 2 - centre_row), 0, MNIST_SIDE - height))
    left = int(np.clip(round(MNIST_SIDE / 2 - centre_col), 0, MNIST_SIDE - width))
    image = np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)
    image[top:top + height, left:left + width] = resized
    return image
