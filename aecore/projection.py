"""Projections of latent codes to two dimensions for maps: PCA, t-SNE and UMAP behind one interface.

openTSNE and umap-learn are imported only when asked for. UMAP's numba code
compiles on its first fit in a process (seconds); :func:`warm_up_umap` does
that in the background and the compiled code is cached on disk for the next
process (``NUMBA_CACHE``).
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from aecore.latent import LatentPlane, nearest_neighbours

METHODS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
NEIGHBOURS_FOR_PLACEMENT = 10
MIN_NEIGHBOUR_MAP_CODES = 5  # t-SNE and UMAP below this: the PCA map instead
UMAP_NEIGHBOURS = 15  # umap-learn's default n_neighbors
# umap-learn's own choice above 10,000 points; below, it runs 500. On 2,000 / 5,000 MNIST codes 200 epochs keep
# the trustworthiness (0.9587 / 0.9618 against 0.9586 / 0.9625) at 2.5x the speed (0.8 s / 2.1 s).
UMAP_EPOCHS = 200
# t-SNE schedule: half of openTSNE's default 250 early-exaggeration + 500 iterations. From a PCA start
# this keeps sklearn's trustworthiness on 5,000 MNIST codes (0.991 both) at 3.6x its speed (bench/README.md).
TSNE_ITERATIONS = (125, 250)
# Barnes-Hut's accuracy/speed trade-off (openTSNE's default 0.5): on 10,000 MNIST codes 0.8 takes 9.1 s against
# 14.3 s, with the same trustworthiness (0.9851 against 0.9853).
TSNE_THETA = 0.8
EXACT_NEIGHBOURS_UP_TO = 10_000  # exact kNN beats Annoy's index build below this many codes on 2 cores
NUMBA_CACHE = Path.home() / ".cache" / "aecore" / "numba"  # compiled UMAP code survives server restarts


@dataclass(frozen=True)
class Projection:
    """2-D coordinates of a set of codes, and a way to place new codes on the same map."""

    method: str
    points: np.ndarray  # (N, 2)
    place: Callable[[np.ndarray], np.ndarray]  # new codes (M, L) -> (M, 2)
    placement_note: str = ""  # how new points are placed, when it is an approximation, or why PCA was used


def sample_indices(n: int, cap: int, seed: int = 0) -> np.ndarray:
    """At most ``cap`` sorted indices of ``n`` items, chosen with ``seed`` (all of them when n <= cap)."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=cap, replace=False))


def project(codes: np.ndarray, method: str, *, perplexity: float = 30.0, seed: int = 0) -> Projection:
    """Map (N, L) codes to 2-D with ``method`` ("pca", "tsne" or "umap")."""
    codes = np.ascontiguousarray(codes, dtype=np.float32)
    if method in ("tsne", "umap") and len(codes) < MIN_NEIGHBOUR_MAP_CODES:
        return replace(_pca(codes), placement_note=f"{METHODS[method]} needs at least {MIN_NEIGHBOUR_MAP_CODES} "
                                                   f"codes and there are {len(codes)}: this is their PCA map")
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
    neighbours = "exact" if len(codes) <= EXACT_NEIGHBOURS_UP_TO else "auto"
    embedding = TSNE(perplexity=perplexity, random_state=seed, n_jobs=2, verbose=False, initialization="pca",
                     neighbors=neighbours, negative_gradient_method="bh", theta=TSNE_THETA,
                     early_exaggeration_iter=TSNE_ITERATIONS[0], n_iter=TSNE_ITERATIONS[1]).fit(codes)
    points = np.asarray(embedding)
    return Projection("tsne", points, _placed_by_neighbours(codes, points),
                      placement_note=_neighbour_note("t-SNE"))


def _placed_by_neighbours(codes: np.ndarray, points: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """New codes -> the mean map position of their NEIGHBOURS_FOR_PLACEMENT nearest codes."""
    def place(new: np.ndarray) -> np.ndarray:
        indices, _ = nearest_neighbours(codes, np.asarray(new, dtype=np.float32), NEIGHBOURS_FOR_PLACEMENT)
        return points[indices].mean(axis=1)

    return place


def _neighbour_note(method: str) -> str:
    return (f"{method} maps only the codes it was fitted on: new points are placed at the mean of their "
            f"{NEIGHBOURS_FOR_PLACEMENT} nearest neighbours' positions")


@functools.cache
def _import_umap():
    """umap-learn, with its numba functions cached on disk: pynndescent caches its own, umap-learn marks
    few of its ``@njit`` functions ``cache=True``, so without this every new process spends seconds
    compiling them again at the first fit (6.6 s here, against 1.1 s from the cache). The cache lives in
    NUMBA_CACHE unless NUMBA_CACHE_DIR is set, or numba was imported before this ran."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(NUMBA_CACHE))  # read by numba when it is first imported
    import umap
    import umap.layouts
    import umap.spectral
    import umap.umap_
    import umap.utils
    from numba.core.registry import CPUDispatcher

    for module in (umap.umap_, umap.layouts, umap.spectral, umap.utils):
        for function in vars(module).values():
            if isinstance(function, CPUDispatcher) and function.__module__ == module.__name__:
                function.enable_caching()  # what @njit(cache=True) does
    return umap


def _umap_points(codes: np.ndarray, seed: int) -> np.ndarray:
    """UMAP on a precomputed exact kNN graph from scikit-learn, which skips pynndescent's numba compile
    (the larger part of a first fit's stall); without a search index UMAP cannot transform new codes."""
    from sklearn.neighbors import NearestNeighbors

    umap = _import_umap()
    k = min(UMAP_NEIGHBOURS, len(codes) - 1)
    distances, indices = NearestNeighbors(n_neighbors=k).fit(codes).kneighbors(codes)  # each (N, k), self first
    reducer = umap.UMAP(n_neighbors=k, n_epochs=UMAP_EPOCHS, random_state=seed, n_jobs=1,
                        precomputed_knn=(indices, distances))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(knn_search_index|n_jobs overridden|random_state).*")
        return np.asarray(reducer.fit_transform(codes))


def warm_up_umap() -> float:
    """Fit UMAP once on a small random set so numba compiles now, not when a user first asks for a map;
    returns the seconds it took."""
    import time

    start = time.perf_counter()
    _umap_points(np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32), seed=0)
    return time.perf_counter() - start


def warm_up_tsne() -> float:
    """Import openTSNE and fit a tiny map (1.3 s + 0.7 s of first-call work here); returns the seconds it took."""
    import time

    start = time.perf_counter()
    _tsne(np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32), perplexity=30.0, seed=0)
    return time.perf_counter() - start


def _umap(codes: np.ndarray, seed: int) -> Projection:
    points = _umap_points(codes, seed)
    return Projection("umap", points, _placed_by_neighbours(codes, points), placement_note=_neighbour_note("UMAP"))
