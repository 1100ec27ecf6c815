"""The lecture labs' computations on the shipped lab runs, and the diagnostics and probe helpers they share
with the Inside and Probes pages."""

import numpy as np
import pytest
import torch
from torch import nn

from aecore import labs
from aecore.config import DataConfig, ModelConfig
from aecore.data import load_dataset
from aecore.diagnostics import (
    activation_pictures,
    decoder_filters,
    filter_pictures,
    last_decoder_layer,
    traversals,
)
from aecore.latent import encode_images
from aecore.models import build_model
from aecore.probes import pretraining_against_scratch, pretraining_comparison
from aecore.shipped import LAB_PRESETS, lab_model


def test_every_lab_names_shipped_presets():
    assert {preset for lab in labs.LABS for preset in lab.presets} <= set(LAB_PRESETS)
    assert len({lab.key for lab in labs.LABS}) == len(labs.LABS)


def test_the_toy_network_gives_back_its_five_patterns_and_shows_every_table():
    model, data = lab_model("lecture-002-toy")
    model.train()
    network = labs.toy_network(model, data)
    assert model.training  # read only
    shapes = {title: values.shape for title, values in network.tables.items()}
    assert shapes == {"W (9 x 4)": (9, 4), "W' (4 x 9)": (4, 9), "b": (1, 4), "b'": (1, 9),
                      "hidden activations (5 x 4)": (5, 4), "outputs (5 x 9)": (5, 9), "binarised outputs": (5, 9)}
    assert network.exact
    np.testing.assert_array_equal(network.tables["binarised outputs"],
                                  data.train.x[data.train.y.argsort()].flatten(1).numpy())


def test_sparse_coding_summarises_the_hidden_layer():
    model, data = lab_model("lecture-002-sparse")
    coding = labs.sparse_coding(model, data)
    assert coding.filters.shape == (49, 1, 10, 10) and coding.activations.shape == (4, 1, 12, 12)
    assert coding.filters.min() == 0.0 and coding.filters.max() == pytest.approx(1.0)
    assert coding.mean_activation == pytest.approx(float(encode_images(model, data.train.x).mean()), rel=1e-5)


def test_the_2d_lab_maps_the_test_codes_under_a_decoded_grid():
    model, data = lab_model("lecture-003-ae")
    codes_map, grid = labs.two_d_manifold(model, data, n=5)
    np.testing.assert_allclose(codes_map.points, encode_images(model, data.test.x), rtol=1e-5, atol=1e-6)
    assert grid.size == (5 * 28 * 2, 5 * 28 * 2)


def test_a_test_image_comes_first_then_its_nearest_training_images():
    model, data = lab_model("lecture-004-denoising")
    strip = labs.test_image_neighbours(model, data, index=3, k=4)
    assert strip.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(strip[0], data.test.x[3].numpy())
    codes = encode_images(model, torch.from_numpy(strip))
    distances = np.linalg.norm(codes[1:] - codes[0], axis=1)
    assert np.all(np.diff(distances) >= -1e-5)  # nearest first


def test_the_last_decoder_layer_paints_the_output_and_gives_the_decoder_filters():
    torch.manual_seed(0)
    mlp = build_model(ModelConfig(hidden=(16,), latent_dim=3), (1, 8, 8))
    layer = last_decoder_layer(mlp)
    assert isinstance(layer, nn.Linear) and layer.out_features == 64
    np.testing.assert_array_equal(decoder_filters(mlp)[0].ravel(), layer.weight[:, 0].detach().numpy())
    conv = build_model(ModelConfig(arch="conv", hidden=(8, 16), latent_dim=4), (1, 28, 28))
    assert isinstance(last_decoder_layer(conv), nn.ConvTranspose2d | nn.Conv2d)


def test_filter_pictures_keep_grey_or_rgb_cut_other_channels_and_cap_the_count():
    filters = np.random.default_rng(0).normal(size=(130, 16, 3, 3))
    shown = filter_pictures(filters, max_tiles=100)
    assert shown.shape == (100, 1, 3, 3)
    assert np.allclose(shown.reshape(100, -1).min(axis=1), 0.0) and np.allclose(shown.reshape(100, -1).max(axis=1), 1)
    assert filter_pictures(filters[:5, :3], max_tiles=100).shape == (5, 3, 3, 3)


def test_activation_pictures_share_one_scale():
    codes = np.array([[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 8.0]])
    pictures = activation_pictures(codes)
    assert pictures.shape == (2, 1, 2, 2)
    assert pictures.min() == 0.0 and pictures.max() == 1.0 and pictures[0, 0, 0, 1] == pytest.approx(1 / 8)


def test_traversals_sweep_one_dimension_at_a_time_around_the_mean_code():
    codes = np.random.default_rng(0).normal(size=(50, 20)).astype(np.float32)
    values = np.linspace(-3, 3, 5)
    rows = traversals(codes, values, max_dimensions=16)
    assert rows.shape == (16 * 5, 20)
    third = rows[2 * 5:3 * 5]
    np.testing.assert_allclose(third[:, 2], values, rtol=1e-6)
    others = np.delete(third, 2, axis=1)
    np.testing.assert_allclose(others, np.repeat(np.delete(codes.mean(axis=0), 2)[None], 5, axis=0), rtol=1e-5)


def test_the_from_scratch_baseline_is_seeded_and_leaves_the_global_random_state_alone():
    digits = load_dataset(DataConfig(name="digits"))
    torch.manual_seed(0)
    pretrained = build_model(ModelConfig(hidden=(32,), latent_dim=8), digits.input_shape)
    before = torch.random.get_rng_state()
    scores = pretraining_against_scratch(pretrained, pretrained.config, digits.train, digits.test, per_class=2,
                                         epochs=3, seed=4)
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.manual_seed(4)
    fresh = build_model(pretrained.config, digits.input_shape)
    assert scores == pretraining_comparison(pretrained, fresh, digits.train, digits.test, per_class=2, epochs=3,
                                            seed=4)
