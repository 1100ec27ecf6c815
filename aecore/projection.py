"""Projections of latent codes to two dimensions for maps: PCA, t-SNE and UMAP behind one interface.

openTSNE and umap-learn are imported only when asked for. UMAP's numba code
compiles on its first fit in a process (seconds); :func:`warm_up_umap` does
that in the background and the compiled code is cached on disk for the next
process (``NUMBA_CACHE``).

t-SNE and UMAP take seconds to minutes: :func:`project` reports :class:`Frame` s
as the layout converges (openTSNE's callbacks; UMAP's epochs) to a ``progress``
function, which can stop it. :func:`parameters` names everything a result
depends on, which is what a finished map is cached under
(:mod:`aecore.projection_cache`).
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from aecore.latent import LatentPlane, nearest_neighbours

METHODS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
NEIGHBOURS_FOR_PLACEMENT = 10
MIN_NEIGHBOUR_MAP_CODES = 5  # t-SNE and UMAP below this: the PCA map instead
UMAP_NEIGHBOURS = 15  # umap-learn's default n_neighbors
# UMAP's schedule against umap-learn's defaults (python -m bench.projection: MNIST codes of the shipped 32-d AE,
# 2 threads, trustworthiness on 5,000 of them): a PCA start instead of the spectral one (2.5 s of eigenvectors at
# 30,000 codes) and 100 epochs instead of its 500 (up to 10,000 codes) or 200. 2.4 s against 10.5 s at 10,000 codes
# (trustworthiness 0.9649 against 0.9675). Each epoch costs about 0.15 s at 70,000 codes on one core (umap-learn's
# parallel epochs were no faster on 2 cores: 14.7-16.2 s for 100, against 14.9-15.0 s), so from UMAP_LARGE_FROM on
# it runs UMAP_LARGE_EPOCHS: at 70,000 codes 7.4 s of layout against 14.9 s, trustworthiness 0.9600 against
# 0.9620 (40 epochs: 0.9572; 50 with 3 negative samples: 0.9581). With clustered_neighbours, end to end (two
# runs): 4.0-4.6 s against 14.4-15.2 s at 30,000 codes (0.9598 / 0.9625-0.9634), 8.5-9.9 s against 31.7-36.6 s
# at 70,000 (0.9590 / 0.9621-0.9625); before, with the exact kNN and 100 epochs: 8.3 s and 26.2 s.
UMAP_EPOCHS = 100
UMAP_LARGE_FROM = 20_000
UMAP_LARGE_EPOCHS = 50
UMAP_INIT = "pca"
# t-SNE schedule: 100 early-exaggeration + 150 iterations, a third of openTSNE's default 250 + 500. From a PCA
# start (openTSNE's default) it keeps the trustworthiness on MNIST codes (bench.projection, as above), with exact
# kNN and FFT gradients: 7.1 s against 47.0 s at 10,000 codes (0.9897 against 0.9908), 13.6 s against 71.7 s at
# 30,000 (0.9878 / 0.9862), 33.8 s against 132.0 s at 70,000 (0.9868 / 0.9870).
TSNE_ITERATIONS = (100, 150)
# Barnes-Hut's accuracy/speed trade-off (openTSNE's default 0.5): on 10,000 MNIST codes 0.8 takes 9.1 s against
# 14.3 s, with the same trustworthiness (0.9851 against 0.9853).
TSNE_THETA = 0.8
# t-SNE's kNN, and UMAP's below UMAP_LARGE_FROM codes: exact (scikit-learn, brute force). openTSNE's default,
# Annoy, is slower on 2 cores (90 neighbours of 30,000 codes: 13.6 s against 3.5 s; 70,000 exact: 16.8 s).
# pynndescent is faster once compiled (UMAP's 15 neighbours of 70,000 codes: 1.9 s against 14.7 s exact), but
# its numba code compiles again in every new process (48 s on 2 busy cores; 29 s with its functions' disk cache
# enabled as umap-learn's below, as those taking a distance function are not cached), and each map has its own
# worker process (aecore.jobs.projection_work).
NEIGHBOUR_SEARCH = "exact"
# UMAP's kNN from UMAP_LARGE_FROM codes on: :func:`clustered_neighbours` (k-means cells, each code searched in
# its NEIGHBOUR_PROBES nearest cells), in torch, nothing to compile. UMAP's 15 neighbours of 70,000 codes: 1.5 s
# on 2 threads (2.5 s on one) against 10.9 s exact, recall 0.959 (4 probed cells: 0.917, 8: 0.976);
# trustworthiness of the 100-epoch map 0.9620 against 0.9611 from the exact kNN.
NEIGHBOUR_PROBES = 6
KMEANS_SAMPLE, KMEANS_ITERATIONS = 20_000, 6
# Barnes-Hut below this many codes, FFT-interpolated gradients from it on (openTSNE's own rule, "auto"): BH's
# cost grows as N log N per iteration and FFT's about linearly; at 10,000 codes FFT took 8.6 s against BH's
# 9.1 s (trustworthiness 0.9897 against 0.9886).
FFT_FROM = 10_000
TSNE_FRAME_EVERY = 25  # iterations between two frames of a t-SNE layout (openTSNE's callbacks_every_iters)
UMAP_FRAME_EVERY = 10  # epochs between two frames of a UMAP layout
NUMBA_CACHE = Path.home() / ".cache" / "aecore" / "numba"  # compiled UMAP code survives server restarts


@dataclass(frozen=True)
class Projection:
    """2-D coordinates of a set of codes, and a way to place new codes on the same map."""

    method: str
    points: np.ndarray  # (N, 2)
    place: Callable[[np.ndarray], np.ndarray]  # new codes (M, L) -> (M, 2)
    placement_note: str = ""  # how new points are placed, when it is an approximation, or why PCA was used


@dataclass(frozen=True)
class Frame:
    """How far a t-SNE or UMAP layout got: ``stage`` is "neighbours" (the kNN graph and affinities, no points
    yet) or "layout" (``done`` of ``total`` iterations or epochs, ``points`` the layout so far)."""

    stage: str
    done: int
    total: int
    points: np.ndarray | None = None  # (N, 2) float32


Progress = Callable[[Frame], bool | None]  # called with each frame; True stops the projection


class StoppedError(Exception):
    """A ``progress`` function asked a projection to stop; ``frame`` is the last one it saw."""

    def __init__(self, frame: Frame) -> None:
        super().__init__(f"stopped after {frame.done} of {frame.total}")
        self.frame = frame


def sample_indices(n: int, cap: int, seed: int = 0) -> np.ndarray:
    """At most ``cap`` sorted indices of ``n`` items, chosen with ``seed`` (all of them when n <= cap)."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=cap, replace=False))


def project(codes: np.ndarray, method: str, *, perplexity: float = 30.0, seed: int = 0,
            progress: Progress | None = None, threads: int = 2) -> Projection:
    """Map (N, L) codes to 2-D with ``method`` ("pca", "tsne" or "umap").

    t-SNE and UMAP call ``progress`` with a "neighbours" frame first, then with the layout every
    TSNE_FRAME_EVERY iterations or UMAP_FRAME_EVERY epochs; when it returns True the projection
    raises :class:`StoppedError`. ``threads``: openTSNE's worker threads.
    """
    codes = np.ascontiguousarray(codes, dtype=np.float32)
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; known: {', '.join(METHODS)}")
    if method in ("tsne", "umap") and len(codes) < MIN_NEIGHBOUR_MAP_CODES:
        return replace(_pca(codes), placement_note=_too_few_note(method, len(codes)))
    if method == "pca":
        return _pca(codes)
    if method == "tsne":
        return _tsne(codes, perplexity, seed, progress, threads)
    return _umap(codes, seed, progress)


def parameters(method: str, n: int, *, perplexity: float = 30.0, seed: int = 0) -> dict[str, float | int | str]:
    """Everything the ``method`` map of ``n`` codes depends on besides the codes: a cached map is reused only
    when these match (a new schedule here invalidates the maps computed with the old one)."""
    if method == "tsne" and n >= MIN_NEIGHBOUR_MAP_CODES:
        return {"perplexity": _effective_perplexity(perplexity, n), "seed": seed,
                "early_exaggeration_iter": TSNE_ITERATIONS[0], "n_iter": TSNE_ITERATIONS[1],
                "gradient": _tsne_gradient(n), "theta": TSNE_THETA, "neighbours": NEIGHBOUR_SEARCH}
    if method == "umap" and n >= MIN_NEIGHBOUR_MAP_CODES:
        clustered = n >= UMAP_LARGE_FROM
        return {"n_neighbors": min(UMAP_NEIGHBOURS, n - 1), "n_epochs": umap_epochs(n), "seed": seed,
                "knn": f"clustered-{NEIGHBOUR_PROBES}" if clustered else NEIGHBOUR_SEARCH, "init": UMAP_INIT}
    if method in METHODS:
        return {}  # PCA (also what too few codes for t-SNE or UMAP get) has no parameters
    raise ValueError(f"unknown projection {method!r}; known: {', '.join(METHODS)}")


def projection_of(codes: np.ndarray, method: str, points: np.ndarray) -> Projection:
    """The :class:`Projection` of codes (N, L) whose ``method`` map was computed earlier as ``points`` (N, 2)
    (e.g. read from the disk cache): new codes are placed as :func:`project` places them."""
    codes = np.ascontiguousarray(codes, dtype=np.float32)
    if method == "pca" or len(codes) < MIN_NEIGHBOUR_MAP_CODES:
        projection = _pca(codes)
        return projection if method == "pca" else replace(projection, placement_note=_too_few_note(method, len(codes)))
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (len(codes), 2):
        raise ValueError(f"{len(codes)} codes need points of shape ({len(codes)}, 2), not {points.shape}")
    return Projection(method, points, _placed_by_neighbours(codes, points),
                      placement_note=_neighbour_note(METHODS[method]))


def _too_few_note(method: str, n: int) -> str:
    return f"{METHODS[method]} needs at least {MIN_NEIGHBOUR_MAP_CODES} codes and there are {n}: this is their PCA map"


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


def _effective_perplexity(perplexity: float, n: int) -> float:
    return float(min(perplexity, max(1.0, (n - 1) / 3)))  # t-SNE needs 3 * perplexity < N


def _tsne_gradient(n: int) -> str:
    return "bh" if n < FFT_FROM else "fft"


class _TsneFrames:
    """openTSNE callback: counts iterations across its two phases (early exaggeration, then the rest, each
    counted from 1), passes a frame to ``progress`` and stops the run when it returns True."""

    def __init__(self, progress: Progress) -> None:
        self.progress, self.phase, self.last = progress, -1, Frame("neighbours", 0, sum(TSNE_ITERATIONS))
        self.stopped = False

    def optimization_about_to_start(self) -> None:  # openTSNE calls it before each phase
        self.phase += 1

    def __call__(self, iteration: int, error: float, embedding: np.ndarray) -> bool:
        done = iteration + (TSNE_ITERATIONS[0] if self.phase > 0 else 0)
        self.last = Frame("layout", done, sum(TSNE_ITERATIONS), np.asarray(embedding, dtype=np.float32).copy())
        self.stopped = bool(self.progress(self.last))
        return self.stopped


def _tsne(codes: np.ndarray, perplexity: float, seed: int, progress: Progress | None = None,
          threads: int = 2) -> Projection:
    from joblib import parallel_config
    from openTSNE import TSNE

    n = len(codes)
    frames = _TsneFrames(progress) if progress is not None else None
    if frames is not None and frames.progress(frames.last):
        raise StoppedError(frames.last)
    gradient = _tsne_gradient(n)
    # openTSNE's exact neighbours are scikit-learn's, run by joblib: its default (loky) processes cannot start in a
    # worker process, so it warned "Loky-backed parallel loops cannot be called in a multiprocessing" into the
    # server's log on every map and ran on one thread; threads can (the search releases the GIL)
    with parallel_config(backend="threading", n_jobs=threads):
        embedding = TSNE(perplexity=_effective_perplexity(perplexity, n), random_state=seed, n_jobs=threads,
                         verbose=False, initialization="pca", neighbors=NEIGHBOUR_SEARCH,
                         negative_gradient_method=gradient, theta=TSNE_THETA,
                         early_exaggeration_iter=TSNE_ITERATIONS[0], n_iter=TSNE_ITERATIONS[1],
                         callbacks=frames, callbacks_every_iters=TSNE_FRAME_EVERY).fit(codes)
    if frames is not None and frames.stopped:  # openTSNE returns the interrupted embedding as if finished
        raise StoppedError(frames.last)
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
    NUMBA_CACHE unless NUMBA_CACHE_DIR is set, or numba was imported before this ran.

    Also hooks UMAP's epoch loop for frames (see :func:`_watch_umap_epochs`)."""
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
    _watch_umap_epochs(umap)
    return umap


_umap_watch = threading.local()  # .progress and .embedding while this thread fits a UMAP with frames


def _watch_umap_epochs(umap) -> None:
    """Let a UMAP fit report its layout every UMAP_FRAME_EVERY epochs to the ``progress`` its thread set.

    umap-learn has no callbacks. Its layout (``optimize_layout_euclidean``) moves the embedding array in
    place, one epoch per turn of ``for n in tqdm(range(n_epochs))``: the two names are wrapped so that the
    thread that set ``_umap_watch.progress`` sees the array between epochs (and can stop the loop); other
    threads, and fits without progress, run umap-learn's own code.
    """
    layouts, umap_module = umap.layouts, umap.umap_
    epochs, optimize = layouts.tqdm, umap_module.optimize_layout_euclidean

    def watched_optimize(head_embedding, *args, **kwargs):
        _umap_watch.embedding = head_embedding  # (N, 2) float32, moved in place by each epoch
        return optimize(head_embedding, *args, **kwargs)

    def watched_epochs(iterable: Iterable[int], **tqdm_kwds) -> Iterable[int]:
        progress = getattr(_umap_watch, "progress", None)
        return epochs(iterable, **tqdm_kwds) if progress is None else _epoch_frames(list(iterable), progress)

    layouts.tqdm, umap_module.optimize_layout_euclidean = watched_epochs, watched_optimize


def _epoch_frames(epochs: list[int], progress: Progress) -> Iterator[int]:
    for epoch in epochs:
        embedding = getattr(_umap_watch, "embedding", None)  # None: a layout other than the Euclidean one
        if epoch % UMAP_FRAME_EVERY == 0 and embedding is not None:
            frame = Frame("layout", epoch, len(epochs), np.array(embedding, dtype=np.float32))
            if progress(frame):
                raise StoppedError(frame)
        yield epoch


def umap_epochs(n: int) -> int:
    """The epochs of our UMAP layout of ``n`` codes (see UMAP_LARGE_FROM)."""
    return UMAP_LARGE_EPOCHS if n >= UMAP_LARGE_FROM else UMAP_EPOCHS


def clustered_neighbours(codes: np.ndarray, k: int, *, probes: int = NEIGHBOUR_PROBES,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Approximate ``k`` nearest neighbours of every code among all (the code itself included, as a kNN graph
    for UMAP): indices and Euclidean distances, each (N, k), nearest first.

    k-means (on a sample of KMEANS_SAMPLE codes, seeded) splits the codes into about sqrt(N) cells; each code
    is compared with the codes of its ``probes`` nearest cells only, cell by cell as one matrix product,
    about probes * sqrt(N) distances per code instead of N. A code whose probed cells hold fewer than ``k``
    codes is searched exactly.
    """
    data = torch.as_tensor(np.ascontiguousarray(codes, dtype=np.float32))
    n = len(data)
    k = min(k, n)
    cells = max(1, round(n ** 0.5))
    probes = min(probes, cells)
    centroids = _kmeans(data, cells, seed)
    squared = (data * data).sum(1)
    to_centroids = torch.addmm((centroids * centroids).sum(1)[None], data, centroids.T, alpha=-2)  # (N, cells)
    cell = to_centroids.argmin(1)
    probed = torch.topk(to_centroids, probes, dim=1, largest=False).indices.reshape(-1)  # (N * probes,)
    members, member_starts = _grouped(cell, cells)
    slots, slot_starts = _grouped(probed, cells)  # slot s: code s // probes probing one of its cells
    best = torch.full((n * probes, k), float("inf"))  # squared distances to the nearest k of each probed cell
    best_index = torch.zeros((n * probes, k), dtype=torch.int64)
    for c in range(cells):
        cell_slots = slots[slot_starts[c]:slot_starts[c + 1]]
        cell_members = members[member_starts[c]:member_starts[c + 1]]
        if len(cell_slots) == 0 or len(cell_members) == 0:
            continue
        queries = cell_slots // probes
        distances = torch.addmm(squared[cell_members][None], data[queries], data[cell_members].T, alpha=-2)
        distances += squared[queries, None]
        nearest = torch.topk(distances, min(k, len(cell_members)), dim=1, largest=False, sorted=False)
        best[cell_slots, :nearest.indices.shape[1]] = nearest.values
        best_index[cell_slots, :nearest.indices.shape[1]] = cell_members[nearest.indices]
    best, best_index = best.reshape(n, probes * k), best_index.reshape(n, probes * k)
    nearest = torch.topk(best, k, dim=1, largest=False, sorted=True)
    indices = torch.gather(best_index, 1, nearest.indices).numpy()
    distances = nearest.values.clamp_min(0).sqrt().numpy()
    short = np.flatnonzero(~np.isfinite(distances[:, -1]))  # probed cells with fewer than k codes in all
    if len(short):
        indices[short], distances[short] = nearest_neighbours(data.numpy(), data[short].numpy(), k)
    return indices, distances


def _kmeans(data: torch.Tensor, cells: int, seed: int) -> torch.Tensor:
    """(cells, L) centroids of Lloyd's k-means on a seeded sample of ``data``, started from sampled codes."""
    rng = np.random.default_rng(seed)
    sample = data[torch.as_tensor(np.sort(rng.choice(len(data), min(KMEANS_SAMPLE, len(data)), replace=False)))]
    centroids = sample[torch.as_tensor(rng.choice(len(sample), cells, replace=False))].clone()
    for _ in range(KMEANS_ITERATIONS):
        cell = torch.addmm((centroids * centroids).sum(1)[None], sample, centroids.T, alpha=-2).argmin(1)
        counts = torch.bincount(cell, minlength=cells)
        sums = torch.zeros_like(centroids).index_add_(0, cell, sample)
        filled = counts > 0  # an empty cell keeps its centroid
        centroids[filled] = sums[filled] / counts[filled, None]
    return centroids


def _grouped(labels: torch.Tensor, groups: int) -> tuple[torch.Tensor, list[int]]:
    """Positions of ``labels`` sorted by label, and where each label's run starts (groups + 1 offsets)."""
    order = torch.argsort(labels, stable=True)
    return order, torch.searchsorted(labels[order], torch.arange(groups + 1)).tolist()


def _umap_points(codes: np.ndarray, seed: int, progress: Progress | None = None) -> np.ndarray:
    """UMAP on a precomputed kNN graph, which skips pynndescent's numba compile (the larger part of a first
    fit's stall; see NEIGHBOUR_SEARCH): exact from scikit-learn, or :func:`clustered_neighbours` from
    UMAP_LARGE_FROM codes on. Without a search index UMAP cannot transform new codes."""
    from sklearn.neighbors import NearestNeighbors

    umap = _import_umap()
    epochs = umap_epochs(len(codes))
    if progress is not None and progress(first := Frame("neighbours", 0, epochs)):
        raise StoppedError(first)
    k = min(UMAP_NEIGHBOURS, len(codes) - 1)
    if len(codes) >= UMAP_LARGE_FROM:
        indices, distances = clustered_neighbours(codes, k, seed=seed)
    else:
        distances, indices = NearestNeighbors(n_neighbors=k).fit(codes).kneighbors(codes)  # each (N, k), self first
    reducer = umap.UMAP(n_neighbors=k, n_epochs=epochs, init=UMAP_INIT, random_state=seed, n_jobs=1,
                        precomputed_knn=(indices, distances))
    _umap_watch.progress = progress
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*(knn_search_index|n_jobs overridden|random_state).*")
            return np.asarray(reducer.fit_transform(codes))
    finally:
        _umap_watch.progress = _umap_watch.embedding = None


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


def _umap(codes: np.ndarray, seed: int, progress: Progress | None = None) -> Projection:
    points = _umap_points(codes, seed, progress)
    return Projection("umap", points, _placed_by_neighbours(codes, points), placement_note=_neighbour_note("UMAP"))
