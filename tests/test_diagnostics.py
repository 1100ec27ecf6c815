"""Inside the network: filters, activations, sparsity, VAE KL, PSNR, probes, layer-wise pre-training."""

import numpy as np
import pytest
import torch

from aecore.config import ModelConfig
from aecore.diagnostics import (
    code_image_shape,
    codes_as_images,
    collapsed_dimensions,
    dead_units,
    decoder_filters,
    encoder_filters,
    kl_per_dimension,
    mean_activations,
    psnr,
    psnr_against_noise,
    to_display,
    total_kl,
    traversal_codes,
)
from aecore.greedy_pretraining import greedy_pretrain
from aecore.latent import encode_split
from aecore.models import build_model
from aecore.presets import preset_config
from aecore.probes import labelled_subset, linear_probe_accuracy, pretraining_comparison
from aecore.training import TrainingState, fit


@pytest.fixture(scope="module")
def trained(digits):
    config = preset_config("ae", dataset="digits", latent=16, epochs=20, batch_size=64)
    state = TrainingState.create(config, digits.input_shape, "cpu")
    list(fit(state, digits))
    return state.model.eval()


def test_filter_tiles_have_the_input_shape():
    model = build_model(ModelConfig(hidden=(16,), latent_dim=4), (1, 10, 10))
    tiles = encoder_filters(model)
    assert tiles.shape == (16, 1, 10, 10)
    assert np.array_equal(tiles[3].ravel(), model.encoder_body[1].weight[3].detach().numpy())
    assert decoder_filters(model).shape == (16, 1, 10, 10)
    toy = build_model(ModelConfig(hidden=(), latent_dim=49, code_activation="sigmoid"), (1, 10, 10))
    assert encoder_filters(toy).shape == (49, 1, 10, 10)  # lecture 002: 49 filters of 10x10
    conv = build_model(ModelConfig(arch="conv", hidden=(8, 16), latent_dim=4), (3, 16, 16))
    assert encoder_filters(conv).shape == (8, 3, 2, 2)
    shown = to_display(tiles)
    assert shown.min() == 0.0 and shown.max() == 1.0
    assert all(tile.min() == 0.0 and tile.max() == pytest.approx(1.0) for tile in shown)


@pytest.mark.parametrize(("units", "shape"), [(49, (7, 7)), (144, (12, 12)), (10, (2, 5)), (7, (1, 7))])
def test_codes_are_drawn_as_near_square_images(units, shape):
    assert code_image_shape(units) == shape
    assert codes_as_images(np.zeros((3, units))).shape == (3, 1, *shape)


def test_rho_hat_and_dead_units():
    codes = np.array([[0.1, 0.5, 0.0], [0.3, 0.5, 0.0], [0.2, 0.5, 0.0]])
    assert mean_activations(codes) == pytest.approx([0.2, 0.5, 0.0])
    assert dead_units(codes).tolist() == [1, 2]  # constant units carry nothing


def test_kl_per_dimension_sums_to_the_total_and_finds_collapsed_dimensions():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(16,), latent_dim=3, variational=True), (1, 8, 8)).eval()
    with torch.no_grad():  # dimension 1 ignores the input and equals the prior: mu = 0, logvar = 0
        for row in (1, 1 + 3):
            model.to_code.weight[row].zero_()
            model.to_code.bias[row] = 0.0
        model.to_code.weight[[0, 2]] *= 50  # dimensions 0 and 2 carry the input: means far from 0
    x = torch.rand(32, 1, 8, 8)
    kl = kl_per_dimension(model, x)
    assert kl.sum() == pytest.approx(total_kl(model, x), rel=1e-5)
    assert kl[1] == pytest.approx(0.0, abs=1e-9)
    assert collapsed_dimensions(kl).tolist() == [1]


def test_traversal_changes_one_dimension_only():
    codes = traversal_codes(np.array([1.0, 2.0, 3.0]), 1, np.array([-1.0, 0.0, 1.0]))
    assert codes[:, 1].tolist() == [-1.0, 0.0, 1.0]
    assert (codes[:, [0, 2]] == [1.0, 3.0]).all()


def test_psnr():
    clean = np.full((2, 1, 4, 4), 0.5)
    assert psnr(clean, clean + 0.1) == pytest.approx(20.0)  # MSE 0.01 -> 10 log10(1 / 0.01) = 20 dB
    assert psnr(clean, clean + 0.01) > psnr(clean, clean + 0.1)


def test_psnr_against_noise_clips_noisy_inputs_to_the_models_input_range():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(8,), latent_dim=4), (1, 4, 4))
    clean = torch.full((3, 1, 4, 4), 2.0)  # standardised inputs live outside [0, 1]
    wide = psnr_against_noise(model, clean, "gaussian", [0.5], value_range=(-3.0, 3.0))
    unit = psnr_against_noise(model, clean, "gaussian", [0.5])
    assert wide[0][1] == pytest.approx(6.0, abs=1.0)  # noise std 0.5: MSE 0.25 -> 10 log10(1 / 0.25) = 6 dB
    assert unit[0][1] == pytest.approx(0.0, abs=0.1)  # clipped to [0, 1]: every value 1.0, MSE 1 -> 0 dB


def test_linear_probe_on_a_trained_code_beats_a_stated_bar(digits, trained):
    accuracy = linear_probe_accuracy(encode_split(trained, digits.train), digits.train.y.numpy(),
                                     encode_split(trained, digits.test), digits.test.y.numpy())
    assert accuracy > 0.85  # a 16-number code of 8x8 digits keeps the class linearly readable


def test_semi_supervised_comparison_uses_k_labels_per_class(digits, trained):
    picked = labelled_subset(digits.train.y, 3)
    assert len(picked) == 30 and torch.bincount(digits.train.y[picked]).tolist() == [3] * 10
    torch.manual_seed(1)
    fresh = build_model(trained.config, digits.input_shape)
    scores = pretraining_comparison(trained, fresh, digits.train, digits.test, per_class=10, epochs=100)
    assert set(scores) == {"pre-trained code, frozen", "pre-trained, fine-tuned", "from scratch"}
    assert all(0.5 < value <= 1.0 for value in scores.values())  # all well above chance (0.1)


def test_greedy_layerwise_pretraining_starts_the_stack_near_a_solution(digits):
    config = preset_config("stacked-ae", dataset="digits", latent=8).model
    torch.manual_seed(0)
    model = build_model(config, digits.input_shape)
    x = digits.train.x
    with torch.no_grad():
        before = float((model.eval()(x).recon - x).square().mean())
    losses = greedy_pretrain(model, x, epochs=3)
    assert len(losses) == len(config.hidden) + 1  # one shallow autoencoder per layer pair
    with torch.no_grad():
        after = float((model.eval()(x).recon - x).square().mean())
    assert after < 0.7 * before
    with pytest.raises(ValueError, match=r"plain \(non-variational\) MLP"):
        greedy_pretrain(build_model(ModelConfig(arch="conv", hidden=(4,)), (1, 8, 8)), torch.rand(4, 1, 8, 8))
