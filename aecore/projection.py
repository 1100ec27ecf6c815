"""Projections of latent codes to two dimensions for maps."""

from __future__ import annotations

import numpy as np


def pca_2d(codes: np.ndarray) -> np.ndarray:
    """Project (m, L) codes onto their first two principal components: (m, 2).

    Codes with two dimensions are returned as they are; one-dimensional codes get y = 0.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if codes.shape[1] <= 2:
        return codes if codes.shape[1] == 2 else np.column_stack([codes[:, 0], np.zeros(len(codes))])
    centred = codes - codes.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)  # rows of axes: principal directions
    return centred @ axes[:2].T
