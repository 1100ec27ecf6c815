"""Maps of the codes: which maps a run offers, planes and projections behind one interface, bounds and grids."""

import numpy as np
import pytest

from aecore.latent_map import CLICK_GRID_SIZE, bounds_of, cell_centres, map_modes, plane_map, projected_map
from aecore.projection import project


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
