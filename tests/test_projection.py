"""UMAP's approximate kNN (k-means cells) and its schedule for large maps."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from aecore import projection
from aecore.latent import nearest_neighbours
from aecore.projection import (
    UMAP_EPOCHS,
    UMAP_LARGE_EPOCHS,
    UMAP_LARGE_FROM,
    Frame,
    StoppedError,
    clustered_neighbours,
    parameters,
    project,
    umap_epochs,
)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """sklearn's 1,797 8x8 digits (64 numbers each): real clusters, small."""
    return load_digits().data.astype(np.float32) / 16.0


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) for a, b in zip(found, exact, strict=True)]) / exact.shape[1])


def test_clustered_neighbours_find_most_of_the_exact_ones_with_their_true_distances(digits):
    indices, distances = clustered_neighbours(digits, 15, seed=0)
    exact, _ = nearest_neighbours(digits, digits, 15)
    assert indices.shape == distances.shape == (len(digits), 15)
    assert _recall(indices, exact) >= 0.9
    assert _recall(clustered_neighbours(digits, 15, probes=1)[0], exact) < _recall(indices, exact)  # probes help
    assert (indices[:, 0] == np.arange(len(digits))).all() and np.allclose(distances[:, 0], 0, atol=1e-3)
    true = np.linalg.norm(digits[:, None] - digits[indices], axis=-1)
    assert np.allclose(distances, true, atol=1e-3) and (np.diff(distances, axis=1) >= 0).all()
    assert all(len(set(row)) == 15 for row in indices)  # no code twice
    again, _ = clustered_neighbours(digits, 15, seed=0)
    assert (again == indices).all()  # seeded: the same graph, the same cached map


def test_codes_whose_probed_cells_are_too_small_are_searched_exactly():
    codes = np.random.default_rng(1).normal(size=(40, 3)).astype(np.float32)  # 6 cells of about 7 codes
    indices, distances = clustered_neighbours(codes, 15, probes=1)
    exact, exact_distances = nearest_neighbours(codes, codes, 15)
    assert (indices == exact).all() and np.allclose(distances, exact_distances, atol=1e-4)


def test_large_maps_get_fewer_epochs_and_the_clustered_search_in_their_cache_key():
    assert umap_epochs(UMAP_LARGE_FROM - 1) == UMAP_EPOCHS and umap_epochs(UMAP_LARGE_FROM) == UMAP_LARGE_EPOCHS
    small, large = parameters("umap", UMAP_LARGE_FROM - 1), parameters("umap", 70_000)
    assert (small["n_epochs"], small["knn"]) == (UMAP_EPOCHS, "exact")
    assert large["n_epochs"] == UMAP_LARGE_EPOCHS and large["knn"].startswith("clustered")


def test_a_large_umap_map_sends_frames_and_stops_as_a_small_one(digits, monkeypatch):
    monkeypatch.setattr(projection, "UMAP_LARGE_FROM", 500)  # these 1,797 codes take the large maps' path
    codes = digits[:600]
    frames: list[Frame] = []
    result = project(codes, "umap", progress=frames.append)
    assert frames[0].stage == "neighbours" and frames[0].total == UMAP_LARGE_EPOCHS
    assert [frame.done for frame in frames if frame.stage == "layout"] == list(range(0, UMAP_LARGE_EPOCHS, 10))
    assert result.points.shape == (600, 2) and np.isfinite(result.points).all()
    with pytest.raises(StoppedError) as stopped:
        project(codes, "umap", progress=lambda frame: frame.done >= 20)
    assert stopped.value.frame.done == 20


def test_a_t_sne_in_a_worker_process_runs_without_the_loky_warning(monkeypatch):
    """A map is computed in a worker (daemon) process, where joblib's default processes cannot start: scikit-learn
    warned "Loky-backed parallel loops cannot be called in a multiprocessing" into the server's log on every map."""
    import multiprocessing
    import warnings

    monkeypatch.setitem(multiprocessing.current_process()._config, "daemon", True)  # as in a pool's worker
    codes = np.random.default_rng(0).normal(size=(150, 4)).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        points = projection._tsne(codes, perplexity=30, seed=0, threads=2).points
    assert points.shape == (150, 2)
    assert not [w for w in caught if "Loky" in str(w.message)], [str(w.message) for w in caught]
