"""Small latent helpers the pages share: one point of a four-corner blend, and a class's name."""

import numpy as np

from aecore.latent import bilinear_grid, bilinear_point, class_name


def test_a_blend_point_matches_the_grid_and_is_a_corner_at_the_corners():
    corners = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    grid = bilinear_grid(corners, 5)  # rows from the top, u = 0, 0.25, ..., 1 in each
    np.testing.assert_allclose(bilinear_point(corners, 0.75, 0.5), grid[2 * 5 + 3], rtol=1e-5, atol=1e-6)
    for (u, v), corner in zip(((0, 0), (1, 0), (0, 1), (1, 1)), corners, strict=True):
        np.testing.assert_allclose(bilinear_point(corners, u, v), corner, rtol=1e-6)


def test_a_class_without_a_name_is_called_by_its_label():
    assert class_name(("cat", "dog"), 1) == "dog"
    assert class_name(("cat", "dog"), 2) == "2" and class_name((), 0) == "0" and class_name(("cat",), -1) == "-1"
