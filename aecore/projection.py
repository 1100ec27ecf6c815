"""Projections of latent codes to two dimensions for maps: PCA, t-SNE and UMAP behind one interface.

openTSNE and umap-learn are imported only when asked for (umap's first call
compiles with numba and takes seconds): pages show a spinner for them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

METHODS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
NEIGHBOURS_FOR_PLACEMENT = 10
NUMBA_CACHE = Path.home() / ".cache" / "aecore" / "numba"  # compiled UMAP code survives server restarts


@dataclass(frozen=True)
class Projection:
    """2-D coordinates of a set of codes, and a way to place new codes on the same map."""

    method: str
    points: np.ndarray  # (N, 2)
    place: Callable[[np.ndarray], np.ndarray]  # new codes (M, L) -> (M, 2)
    placement_note: str = ""  # how new points are placed, when it is an approximation


def sample_indices(n: int, cap: int, seed: int = 0) -> np.ndarray:
    """At most ``cap`` sorted indices of ``n`` items, chosen with ``seed`` (all of them when n <= cap)."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=cap, replace=False))


def project(codes: np.ndarray, method: str, *, perplexity: float = 30.0, seed: int = 0) -> Projection:
    """Map (N, L) codes to 2-D with ``method`` ("pca", "tsne" or "umap")."""
    codes = np.ascontiguousarray(codes, dtype=np.float32)
    if method == "pca":
        return _pca(codes)
    if method == "tsne":
        return _tsne(codes, perplexity, seed)
    if method == "umap":
        return _umap(codes, seed)
    raise ValueError(f"unknown projection {method!r}; known: {', '.join(METHODS)}")


def _pca(codes: np.ndarray) -> Projection:
    """The principal plane of :class:`aecore.latent.LatentPlane`; codes of 1 or 2 dimensions are kept as
    they are (1-D codes get y = 0)."""
    from aecore.latent import LatentPlane

    if codes.shape[1] <= 2:
        def as_is(new: np.ndarray) -> np.ndarray:
            new = np.asarray(new, dtype=np.float64)
            return new if new.shape[1] == 2 else np.column_stack([new[:, 0], np.zeros(len(new))])

        return Projection("pca", as_is(codes), as_is)
    plane = LatentPlane.of_principal_components(codes)
    return Projection("pca", plane.project(codes), plane.project)


def _tsne(codes: np.ndarray, perplexity: float, seed: int) -> Projection:
    from openTSNE import TSNE

    perplexity = min(perplexity, max(1.0, (len(codes) - 1) / 3))  # t-SNE needs 3 * perplexity < N
    embedding = TSNE(perplexity=perplexity, random_state=seed, n_jobs=2, negative_gradient_method="bh",
                     verbose=False).fit(codes)
    points = np.asarray(embedding)

    def place(new: np.ndarray) -> np.ndarray:
        from aecore.latent import nearest_neighbours

        indices, _ = nearest_neighbours(codes, np.asarray(new, dtype=np.float32), NEIGHBOURS_FOR_PLACEMENT)
        return points[indices].mean(axis=1)

    return Projection("tsne", points, place,
                      placement_note=f"t-SNE cannot map new points: placed at the mean of their "
                                     f"{NEIGHBOURS_FOR_PLACEMENT} nearest neighbours' positions")


def _import_umap():
    os.environ.setdefault("NUMBA_CACHE_DIR", str(NUMBA_CACHE))  # read by numba when it is first imported
    import umap

    return umap


def warm_up_umap() -> float:
    """Fit UMAP once on a small random set so numba compiles now, not when a user first asks for a map;
    returns the seconds it took."""
    import time

    start = time.perf_counter()
    codes = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    _import_umap().UMAP(n_neighbors=10, random_state=0, n_jobs=1).fit_transform(codes)
    return time.perf_counter() - start


def _umap(codes: np.ndarray, seed: int) -> Projection:
    umap = _import_umap()

    reducer = umap.UMAP(n_neighbors=min(15, len(codes) - 1), random_state=seed, n_jobs=1)
    points = reducer.fit_transform(codes)
    return Projection("umap", np.asarray(points), lambda new: reducer.transform(np.asarray(new, dtype=np.float32)))
