"""Latent-space maths: planes, grids, interpolation, neighbours, sampling, CSV export, projections."""

import csv
import io

import numpy as np
import pytest
import torch

from aecore.config import ModelConfig
from aecore.latent import (
    LatentPlane,
    bilinear_grid,
    decode_codes,
    encode_images,
    gaussian_quantile_points,
    grid_points,
    interpolate,
    latent_csv_text,
    nearest_neighbours,
    sample_codes,
)
from aecore.models import build_model
from aecore.projection import project, sample_indices


def test_grid_points_run_row_by_row_from_the_top_left():
    points = grid_points((-1.0, 1.0), (0.0, 2.0), 3)
    assert points.shape == (9, 2)
    assert points[0].tolist() == [-1.0, 2.0] and points[2].tolist() == [1.0, 2.0]  # top row, left to right
    assert points[-1].tolist() == [1.0, 0.0]  # bottom right


def test_gaussian_quantile_grid_is_symmetric_around_zero():
    points = gaussian_quantile_points(5)
    assert points.shape == (25, 2)
    assert points[12] == pytest.approx([0.0, 0.0], abs=1e-9)  # the centre cell is the prior's mode
    assert points[0, 0] == pytest.approx(-1.6448536, rel=1e-5)  # 5 % quantile


def test_plane_of_dimensions_keeps_other_dimensions_at_the_mean():
    codes = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    plane = LatentPlane.of_dimensions(codes, 1, 3)
    assert np.allclose(plane.project(codes), codes[:, [1, 3]], atol=1e-6)
    lifted = plane.lift(np.array([[0.5, -2.0]]))[0]
    assert lifted[1] == pytest.approx(0.5) and lifted[3] == pytest.approx(-2.0)
    assert lifted[[0, 2]] == pytest.approx(codes.mean(axis=0)[[0, 2]], abs=1e-6)
    with pytest.raises(ValueError, match="different dimensions"):
        LatentPlane.of_dimensions(codes, 2, 2)


def test_principal_plane_lift_and_project_round_trip():
    rng = np.random.default_rng(1)
    codes = (rng.normal(size=(200, 2)) @ rng.normal(size=(2, 6))).astype(np.float32)  # rank 2: all in one plane
    plane = LatentPlane.of_principal_components(codes)
    assert np.allclose(plane.lift(plane.project(codes)), codes, atol=1e-4)
    points = np.array([[1.0, 2.0], [-3.0, 0.5]])
    assert np.allclose(plane.project(plane.lift(points)), points, atol=1e-5)


def test_linear_and_spherical_interpolation_hit_both_ends():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    line = interpolate(a, b, 5)
    assert line.shape == (5, 2) and np.allclose(line[0], a) and np.allclose(line[-1], b)
    assert np.allclose(line[2], [0.5, 1.0])
    arc = interpolate(a, b, 5, spherical=True)
    assert np.allclose(arc[0], a, atol=1e-6) and np.allclose(arc[-1], b, atol=1e-6)
    assert np.linalg.norm(arc[2]) > np.linalg.norm(line[2])  # slerp bows outwards, away from the origin


def test_interpolation_end_points_decode_the_encoded_inputs():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(16,), latent_dim=3), (1, 8, 8)).eval()
    x = torch.rand(2, 1, 8, 8)
    codes = encode_images(model, x)
    path = interpolate(codes[0], codes[1], 7)
    strip = decode_codes(model, path)
    with torch.no_grad():
        direct = model.reconstruct(x).numpy()
    assert strip.shape == (7, 1, 8, 8)
    assert np.allclose(strip[0], direct[0], atol=1e-5) and np.allclose(strip[-1], direct[1], atol=1e-5)


def test_bilinear_grid_has_the_corners_at_the_corners():
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    grid = bilinear_grid(corners, 4)
    assert grid.shape == (16, 2)
    assert np.allclose(grid[[0, 3, 12, 15]], corners)
    assert np.allclose(grid[5], [1 / 3, 1 / 3])


def test_neighbours_are_ordered_by_distance():
    bank = np.array([[0.0, 0.0], [3.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    indices, distances = nearest_neighbours(bank, np.array([[0.9, 0.0]]), k=3)
    assert indices.tolist() == [[2, 0, 1]]
    assert distances[0] == pytest.approx([0.1, 0.9, 2.1], abs=1e-5)
    assert (np.diff(distances[0]) >= 0).all()


def test_sampling_is_seeded_and_noise_centres_on_the_code():
    assert np.array_equal(sample_codes(3, 4, seed=1), sample_codes(3, 4, seed=1))
    around = sample_codes(2, 2000, seed=0, around=np.array([5.0, -5.0]), noise=0.1)
    assert around.mean(axis=0) == pytest.approx([5.0, -5.0], abs=0.01)
    assert around.std(axis=0) == pytest.approx([0.1, 0.1], abs=0.01)


def test_csv_has_index_label_latent_and_projection_columns():
    codes = np.array([[0.5, -1.0], [2.0, 3.0]], dtype=np.float32)
    text = latent_csv_text(codes, np.array([3, 7]), tuple("0123456789"), {"pca": np.array([[1.0, 2.0], [3.0, 4.0]])})
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["index", "label", "class", "z0", "z1", "pca_x", "pca_y"]
    assert rows[2] == ["1", "7", "7", "2", "3", "3", "4"]


def test_sample_indices_cap_and_determinism():
    assert sample_indices(10, 20).tolist() == list(range(10))
    picked = sample_indices(1000, 50, seed=3)
    assert len(picked) == 50 and len(set(picked.tolist())) == 50 and (np.diff(picked) > 0).all()
    assert np.array_equal(picked, sample_indices(1000, 50, seed=3))


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_projections_keep_clusters_apart_and_place_new_points(method):
    rng = np.random.default_rng(0)
    centres = np.array([[0.0] * 5, [20.0] * 5])
    codes = np.concatenate([centre + rng.normal(size=(60, 5)) for centre in centres]).astype(np.float32)
    result = project(codes, method, perplexity=10)
    assert result.points.shape == (120, 2)
    first, second = result.points[:60].mean(axis=0), result.points[60:].mean(axis=0)
    spread = result.points[:60].std(axis=0).max()
    assert np.linalg.norm(first - second) > 3 * spread
    placed = result.place(codes[:1] + 0.01)
    assert np.linalg.norm(placed[0] - first) < np.linalg.norm(placed[0] - second)


def test_umap_warm_up_compiles_without_error():
    from aecore.projection import warm_up_umap

    assert warm_up_umap() > 0


def test_pca_keeps_low_dimensional_codes_and_matches_the_principal_plane():
    one = np.array([[1.0], [2.0]])
    assert project(one, "pca").points.tolist() == [[1.0, 0.0], [2.0, 0.0]]
    two = np.array([[1.0, 5.0], [2.0, 6.0]])
    assert np.allclose(project(two, "pca").points, two)
    codes = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    assert np.allclose(project(codes, "pca").points, LatentPlane.of_principal_components(codes).project(codes))


def test_umap_compiled_code_is_cached_on_disk_and_new_points_are_placed_by_neighbours():
    from numba.core.caching import NullCache

    from aecore.projection import _import_umap

    umap_module = _import_umap()
    assert not isinstance(umap_module.umap_.smooth_knn_dist._cache, NullCache)
    codes = np.random.default_rng(0).normal(size=(80, 4)).astype(np.float32)
    result = project(codes, "umap")
    assert "nearest neighbours" in result.placement_note
    assert np.allclose(result.place(codes[:1]), result.points[nearest_neighbours(codes, codes[:1], 10)[0]].mean(axis=1))


@pytest.mark.parametrize("count", [1, 2, 4])
@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_too_few_codes_for_tsne_or_umap_get_their_pca_map_and_say_why(method, count):
    codes = np.random.default_rng(0).normal(size=(count, 6)).astype(np.float32)
    result = project(codes, method)
    assert result.method == "pca" and result.points.shape == (count, 2)
    assert f"there are {count}" in result.placement_note
