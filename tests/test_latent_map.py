"""Maps of the codes: which points and maps a run offers, planes and projections behind one interface, bounds
and grids."""

import numpy as np
import pytest

from aecore import latent_map
from aecore.code_sample import encode_sample
from aecore.latent import encode_images
from aecore.latent_map import (
    CLICK_GRID_SIZE,
    SPLITS,
    bounds_of,
    cell_centres,
    encode_map_points,
    map_modes,
    map_sizes,
    plane_map,
    projected_map,
    provisional_map,
)
from aecore.projection import project, projection_of


def test_the_maps_offered_depend_on_the_latent_size():
    assert map_modes(1) == {"tsne": "t-SNE", "umap": "UMAP"}  # a line has no plane
    assert map_modes(2, dimensions=True) == {"plane": "2-D codes", "tsne": "t-SNE", "umap": "UMAP"}
    assert map_modes(32, dimensions=True) == {"plane": "PCA plane", "dims": "two dimensions", "tsne": "t-SNE",
                                              "umap": "UMAP"}
    assert list(map_modes(32, methods=("umap", "tsne"))) == ["plane", "umap", "tsne"]
    assert map_modes(None)["plane"] == "2-D codes or PCA"


def test_a_2d_latent_is_its_own_map_and_every_spot_of_it_decodes():
    codes = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    the_map = plane_map(codes, "plane")
    np.testing.assert_allclose(the_map.points, codes, rtol=1e-6)
    assert the_map.axis_labels == ("z0", "z1") and the_map.name is None and the_map.projections == {}
    np.testing.assert_allclose(the_map.place(codes[:3]), codes[:3], rtol=1e-6)
    np.testing.assert_allclose(the_map.plane.lift(the_map.points), codes, atol=1e-6)  # a map spot is a code
    grid = the_map.click_grid()
    x0, x1, y0, y1 = the_map.bounds
    assert grid.shape == (CLICK_GRID_SIZE ** 2, 2)
    assert grid[:, 0].min() == pytest.approx(x0) and grid[:, 1].max() == pytest.approx(y1)
    assert the_map.note == ""


def test_larger_codes_map_to_their_pca_plane_or_two_chosen_dimensions():
    codes = np.random.default_rng(1).normal(size=(300, 6)).astype(np.float32) * np.arange(1, 7)
    pca = plane_map(codes, "plane")
    assert pca.axis_labels == ("PC 1", "PC 2") and list(pca.projections) == ["pca"]
    assert pca.points[:, 0].std() > pca.points[:, 1].std() > codes[:, 0].std()  # the widest directions first
    dims = plane_map(codes, "dims", (3, 5))
    np.testing.assert_allclose(dims.points, codes[:, [3, 5]], rtol=1e-6)
    assert dims.axis_labels == ("z3", "z5") and dims.projections == {}
    with pytest.raises(ValueError, match="two different dimensions"):
        plane_map(codes, "dims", (2, 2))


def test_a_projected_map_places_new_codes_but_offers_no_plane():
    codes = np.random.default_rng(2).normal(size=(100, 3)).astype(np.float32)
    the_map = projected_map(project(codes, "pca"))
    assert the_map.axis_labels == ("PCA 1", "PCA 2") and the_map.plane is None and the_map.bounds is None
    assert the_map.click_grid() is None and list(the_map.projections) == ["pca"]
    np.testing.assert_allclose(the_map.place(codes[:4]), the_map.points[:4], atol=1e-5)
    tiny = projected_map(project(codes[:3], "tsne"))  # too few codes for t-SNE: their PCA map, and why
    assert tiny.axis_labels == ("PCA 1", "PCA 2") and "needs at least" in tiny.note


def test_bounds_add_a_margin_and_are_never_empty():
    x0, x1, y0, y1 = bounds_of(np.array([[0.0, 0.0], [10.0, 2.0]]))
    assert x0 < 0.0 < 10.0 < x1 and y0 < 0.0 < 2.0 < y1
    same = bounds_of(np.ones((5, 2)))
    assert same[1] > same[0] and same[3] > same[2]


def test_cell_centres_tile_the_bounds_from_the_top_left():
    centres = cell_centres((0.0, 4.0, 0.0, 2.0), 2)
    assert centres.tolist() == [[1.0, 1.5], [3.0, 1.5], [1.0, 0.5], [3.0, 0.5]]


def test_a_map_of_every_image_holds_each_split_in_order_and_names_each_image(digits, model):
    points = encode_map_points(model, digits, "all")
    sizes = [len(digits.test), len(digits.train), len(digits.val)]
    assert len(points) == sum(sizes) and points.selection == f"all:{sum(sizes)}/{sum(sizes)}:seed0"
    assert np.bincount(points.splits).tolist() == sizes and np.all(np.diff(points.splits) >= 0)  # test, train, val
    first_train = sizes[0]
    assert points.name(0) == "test image 0" and points.name(first_train + 7) == "training image 7"
    assert points.name(len(points) - 1) == f"validation image {sizes[2] - 1}"
    np.testing.assert_allclose(points.codes[first_train:first_train + 5], encode_images(model, digits.train.x[:5]),
                               rtol=1e-5)
    assert points.labels[first_train:first_train + 5].tolist() == digits.train.y[:5].tolist()


def test_a_capped_map_samples_across_the_splits_and_its_test_sample_is_the_pages_one(digits, model):
    capped = encode_map_points(model, digits, "all", cap=300)
    assert len(capped) == 300 and capped.selection.startswith("all:300/")
    assert set(capped.splits.tolist()) == {0, 1, 2}  # a sample of every split, not the first 300 images
    for split_index, name in enumerate(SPLITS):
        rows = capped.indices[capped.splits == split_index]
        assert np.all(np.diff(rows) > 0) and rows.max() < len(getattr(digits, name))
    test = encode_map_points(model, digits, "test", cap=100)
    sample = encode_sample(model, digits.test, 100, seed=0)
    assert test.indices.tolist() == sample.indices.tolist() and not test.splits.any()
    np.testing.assert_allclose(test.codes, sample.codes, rtol=1e-5)
    with pytest.raises(ValueError, match="unknown split"):
        encode_map_points(model, digits, "everything")


def test_map_sizes_go_up_to_all_of_the_images():
    assert map_sizes(70_000) == [500, 1000, 2000, 5000, 10_000, 20_000, 30_000, 50_000, 70_000]
    assert map_sizes(1797) == [500, 1000, 1797] and map_sizes(300) == [300]


def test_a_provisional_map_is_the_pca_map_until_a_layout_arrives():
    codes = np.random.default_rng(3).normal(size=(50, 4)).astype(np.float32)
    pca = project(codes, "pca")
    waiting = provisional_map(codes, pca, "tsne", None, "t-SNE waits")
    assert waiting.axis_labels == ("PCA 1", "PCA 2") and not waiting.final and waiting.note == "t-SNE waits"
    np.testing.assert_allclose(waiting.points, pca.points)
    frame = np.random.default_rng(4).normal(size=(50, 2)).astype(np.float32)
    moving = provisional_map(codes, pca, "tsne", frame, "t-SNE: 100 of 375 iterations")
    assert moving.axis_labels == ("t-SNE 1", "t-SNE 2") and not moving.final
    np.testing.assert_allclose(moving.place(codes[:2]), projection_of(codes, "tsne", frame).place(codes[:2]))
    assert projected_map(projection_of(codes, "tsne", frame)).final
    assert waiting.drawn_rows is None and moving.drawn_rows is None  # a small map draws every point


def test_a_large_maps_layouts_draw_a_fixed_sample_of_its_points_and_its_pca_map_all(monkeypatch):
    monkeypatch.setattr(latent_map, "LIVE_FRAME_POINTS", 20)
    codes = np.random.default_rng(3).normal(size=(50, 4)).astype(np.float32)
    pca, rng = project(codes, "pca"), np.random.default_rng(4)
    first, later = (provisional_map(codes, pca, "tsne", rng.normal(size=(50, 2)), "t-SNE") for _ in range(2))
    assert provisional_map(codes, pca, "tsne", None, "t-SNE waits").drawn_rows is None
    assert len(first.drawn_rows) == 20 and len(np.unique(first.drawn_rows)) == 20 and len(first.points) == 50
    np.testing.assert_array_equal(first.drawn_rows, later.drawn_rows)  # the same points move from frame to frame
