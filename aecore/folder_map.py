"""The map of an image folder's codes under a model that lives in a browser session (trained there, not saved):
which images it shows, their codes, their file names and their pixels.

A folder's map shows every split (test, training, validation), sampled down to a
count as Explore's maps are. Images are read a batch at a time, so a folder
streamed from its cache on disk is never read whole. A t-SNE or UMAP map of such
codes has no run folder to be cached under: it is keyed by the codes themselves
(:meth:`aecore.projection_cache.ProjectionKey.of_codes`).
"""

from __future__ import annotations

import numpy as np

from aecore.data import Dataset
from aecore.latent import encode_images
from aecore.latent_map import SPLITS, MapPoints
from aecore.models import AutoEncoder
from aecore.pixels import to_pixels
from aecore.projection import sample_indices

READ_BATCH = 256  # images read (and copied) at a time: 150 MB as float32 at 224x224 RGB


def folder_image_count(data: Dataset) -> int:
    """How many images a map of every split of ``data`` can show."""
    return sum(len(getattr(data, name)) for name in SPLITS)


def encode_folder_points(model: AutoEncoder, data: Dataset, cap: int | None = None, seed: int = 0) -> MapPoints:
    """Codes of at most ``cap`` (None: all) images of every split of ``data``, sampled with ``seed``, split by
    split in SPLITS order (the sample :func:`aecore.latent_map.encode_map_points` draws for "all"); only the
    sampled images are read, READ_BATCH at a time."""
    sizes = [len(getattr(data, name)) for name in SPLITS]
    total = sum(sizes)
    chosen = sample_indices(total, total if cap is None else cap, seed=seed)
    starts = np.cumsum([0, *sizes])
    codes, labels, splits, indices = [], [], [], []
    for split_index, (name, start, end) in enumerate(zip(SPLITS, starts[:-1], starts[1:], strict=True)):
        rows = chosen[(chosen >= start) & (chosen < end)] - start
        split = getattr(data, name)
        codes += [encode_images(model, split.x[rows[at:at + READ_BATCH]]) for at in range(0, len(rows), READ_BATCH)]
        labels.append(split.y[rows].cpu().numpy())
        splits.append(np.full(len(rows), split_index, dtype=np.int8))
        indices.append(rows)
    latent = np.zeros((0, model.latent_dim), dtype=np.float32)
    return MapPoints(np.concatenate([latent, *codes]), np.concatenate(labels).astype(np.int64),
                     np.concatenate(splits), np.concatenate(indices), f"all:{len(chosen)}/{total}:seed{seed}")


def point_files(data: Dataset, points: MapPoints) -> list[str]:
    """Each map point's split and file, "test:happy/3.png" (its row number when the split names no files)."""
    names = {index: getattr(data, name).names for index, name in enumerate(SPLITS)}
    return [f"{SPLITS[split]}:{names[split][row] if names[split] else row}"
            for split, row in zip(points.splits.tolist(), points.indices.tolist(), strict=True)]


def point_pixels(data: Dataset, points: MapPoints, rows) -> np.ndarray:
    """Display pixels (len(rows), C, H, W) in [0, 1] of the images of map rows ``rows``, in that order; only
    those are read."""
    rows = np.asarray(rows, dtype=np.int64)
    pixels = np.zeros((len(rows), *data.input_shape), dtype=np.float32)
    for split_index, name in enumerate(SPLITS):
        here = np.flatnonzero(points.splits[rows] == split_index)
        if len(here):
            pixels[here] = to_pixels(data.normalizer, getattr(data, name).x[points.indices[rows[here]]])
    return pixels
