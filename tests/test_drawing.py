"""Hand-drawn digits become MNIST-like; unusual images score high."""

import numpy as np
import pytest
from PIL import Image

from aecore.config import DataConfig
from aecore.data import load_dataset
from aecore.drawing import ink_from_canvas, mnist_style
from aecore.scoring import unusualness


def test_blank_canvas_gives_nothing():
    assert mnist_style(np.zeros((280, 280))) is None


def test_a_stroke_is_fitted_into_20x20_and_centred_by_mass():
    ink = np.zeros((280, 280), dtype=np.float32)
    ink[20:200, 30:60] = 1.0  # a tall bar in the top-left corner
    image = mnist_style(ink)
    assert image.shape == (28, 28)
    rows, columns = np.nonzero(image > 0.05)
    assert rows.max() - rows.min() + 1 == 20  # the long side becomes 20 pixels
    mass = image.sum()
    centre = ((image.sum(axis=1) * np.arange(28)).sum() / mass, (image.sum(axis=0) * np.arange(28)).sum() / mass)
    assert centre == pytest.approx((14, 14), abs=1.0)


def test_an_enlarged_mnist_digit_comes_back_close_to_itself():
    digits = load_dataset(DataConfig(val_fraction=0.0, fraction=0.001))
    for original in digits.test.x[:5, 0].numpy():
        enlarged = np.asarray(Image.fromarray((original * 255).astype(np.uint8)).resize((280, 280), Image.BILINEAR),
                              dtype=np.float32) / 255
        again = mnist_style(enlarged)
        assert np.corrcoef(again.ravel(), original.ravel())[0, 1] > 0.8


def test_canvas_ink_uses_brightness_and_opacity():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[1, 1] = (255, 255, 255, 255)  # an opaque white stroke
    rgba[2, 2] = (255, 255, 255, 0)  # white but fully transparent: no ink
    ink = ink_from_canvas(rgba)
    assert ink[1, 1] == pytest.approx(1.0) and ink[2, 2] == 0.0 and ink.sum() == pytest.approx(1.0)


def test_unusualness_is_the_share_of_better_reconstructed_images():
    reference = np.linspace(0.0, 1.0, 101)
    assert unusualness(0.5, reference) == pytest.approx(50.0, abs=1.0)
    assert unusualness(2.0, reference) == 100.0 and unusualness(-1.0, reference) == 0.0
