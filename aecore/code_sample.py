"""A sample of a split's images as codes: which images, their codes and labels, and searches among them.

The pages map a few thousand test codes and look for neighbours among ten
thousand training codes; a :class:`CodeSample` keeps the codes together with
the rows of the split they came from, so a hit is an image that can be shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aecore.data import Split
from aecore.latent import encode_images, nearest_neighbours
from aecore.models import AutoEncoder
from aecore.projection import sample_indices


@dataclass(frozen=True)
class CodeSample:
    """Codes of some images of a split, with their labels and their rows in the split."""

    codes: np.ndarray  # (N, L) float32
    labels: np.ndarray  # (N,) int64
    indices: np.ndarray  # (N,) rows of the split, sorted

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def classes(self) -> list[int]:
        """The labels present, in increasing order."""
        return sorted(set(self.labels.tolist()))

    def row_of_class(self, label: int, nth: int = 0) -> int:
        """Row of the ``nth`` image of class ``label`` (wrapping around), or 0 when the class is absent."""
        rows = np.flatnonzero(self.labels == label)
        return int(rows[nth % len(rows)]) if len(rows) else 0

    def nearest(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Split rows and latent distances (each (M, k)) of the ``k`` images whose codes lie nearest to
        each query code (M, L), nearest first."""
        found, distances = nearest_neighbours(self.codes, queries, k)
        return self.indices[found], distances

    def distance_to_nearest(self, queries: np.ndarray) -> np.ndarray:
        """Latent distance (M,) from each query code (M, L) to the nearest code of the sample."""
        return self.nearest(queries, 1)[1][:, 0]


def encode_sample(model: AutoEncoder, split: Split, cap: int, seed: int = 0) -> CodeSample:
    """Codes of at most ``cap`` images of ``split``, chosen with ``seed`` (all of them when it has fewer)."""
    indices = sample_indices(len(split), cap, seed=seed)
    return CodeSample(encode_images(model, split.x[indices]), split.y[indices].cpu().numpy(), indices)
