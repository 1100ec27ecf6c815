"""From the model's space to pictures, and what a model makes of one new image."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from aecore.config import ModelConfig
from aecore.data import Normalizer
from aecore.image_report import report_on
from aecore.latent import LatentPlane, decode_codes, encode_images, grid_points
from aecore.models import build_model
from aecore.pixels import decoded_pixels, manifold_image, png_bytes, round_trip, to_pixels
from aecore.scoring import reconstruction_errors


@pytest.fixture(scope="module")
def images():
    return torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def normalizer(images):
    return Normalizer.fit("standard", images)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model(ModelConfig(hidden=(16,), latent_dim=2, output_activation="linear"), (1, 8, 8))


def test_to_pixels_undoes_the_normalisation_and_clamps(images, normalizer):
    np.testing.assert_allclose(to_pixels(normalizer, normalizer.apply(images)), images.numpy(), atol=1e-5)
    assert to_pixels(Normalizer(), np.full((1, 1, 2, 2), 3.0, dtype=np.float32)).max() == 1.0


def test_a_round_trip_encodes_then_decodes_to_pixels_and_leaves_the_model_training(model, images, normalizer):
    model.train()
    codes, recons = round_trip(model, normalizer, images)
    assert model.training  # read only: the mode it was handed in
    np.testing.assert_allclose(codes, encode_images(model, normalizer.apply(images)), rtol=1e-5)
    np.testing.assert_allclose(recons, to_pixels(normalizer, decode_codes(model, codes)), rtol=1e-5)
    assert recons.shape == (6, 1, 8, 8) and recons.min() >= 0.0 and recons.max() <= 1.0


def test_a_manifold_tiles_the_decoded_grid_and_saves_as_png(model, normalizer):
    plane = LatentPlane.of_dimensions(np.zeros((1, 2), dtype=np.float32))
    points = grid_points((-1.0, 1.0), (-1.0, 1.0), 3)
    picture = manifold_image(model, normalizer, plane, points, 3, scale=2)
    assert picture.size == (3 * 8 * 2, 3 * 8 * 2)
    top_left = decoded_pixels(model, normalizer, plane.lift(points[:1]))[0, 0]
    expected = np.asarray(Image.fromarray((top_left * 255).round().astype(np.uint8)))
    np.testing.assert_array_equal(np.asarray(picture)[:16:2, :16:2], expected)  # the first cell, unscaled
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(picture)))), np.asarray(picture))


def test_a_report_scores_an_image_against_reference_errors(model):
    image = np.zeros((8, 8), dtype=np.float32)
    image[2:6, 3:5] = 1.0
    error = float(reconstruction_errors(model, torch.from_numpy(image)[None, None])[0])
    report = report_on(model, Normalizer(), image, reference_errors=np.array([error / 2, error * 2, error * 3]))
    assert report.error == pytest.approx(error)
    assert report.unusualness == pytest.approx(100 / 3)  # one reference image of three is reconstructed better
    np.testing.assert_array_equal(report.seen[0, 0], image)
    assert report.code.shape == (1, 2) and report.reconstruction.shape == (1, 1, 8, 8)
    np.testing.assert_allclose(report.reconstruction, decoded_pixels(model, Normalizer(), report.code), rtol=1e-6)
