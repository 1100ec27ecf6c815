"""The denoising lab's measurements, which saved runs share a dataset, and the texts that name settings."""

import numpy as np
import pytest
import torch

from aecore.checkpoints import save_run
from aecore.config import ModelConfig
from aecore.data import load_dataset
from aecore.denoising import denoising_example, psnr_curve, runs_on_the_same_data
from aecore.describe import model_kind, noise_name, sparsity_text, training_noise, training_noise_sentence
from aecore.models import build_model
from aecore.presets import preset_config


@pytest.fixture(scope="module")
def digits():
    return load_dataset(preset_config("ae", dataset="digits").data)


@pytest.fixture(scope="module")
def model(digits):
    torch.manual_seed(0)
    return build_model(ModelConfig(hidden=(32,), latent_dim=8), digits.input_shape).eval()


def test_an_example_shows_noisy_denoised_and_clean_pixels(model, digits):
    example = denoising_example(model, digits, "gaussian", 0.5, count=4)
    np.testing.assert_allclose(example.clean, digits.test.x[:4].numpy(), atol=1e-6)  # unit normalisation
    assert example.noisy.shape == example.denoised.shape == (4, 1, 8, 8)
    assert not np.allclose(example.noisy, example.clean)
    assert example.noisy_psnr < 30.0 and np.isfinite(example.denoised_psnr)


def test_the_psnr_of_noisy_inputs_falls_as_the_noise_rises(model, digits):
    rows = psnr_curve(model, digits, "gaussian", (0.1, 0.5, 1.0), count=50)
    assert [level for level, _, _ in rows] == [0.1, 0.5, 1.0]
    noisy = [value for _, value, _ in rows]
    assert noisy[0] > noisy[1] > noisy[2]


def test_only_readable_runs_of_the_same_data_and_shape_are_compared(tmp_path, model, digits):
    same = preset_config("denoising-ae", dataset="digits")
    save_run(tmp_path / "same", config=same, model=model, history=[])
    other = preset_config("ae", dataset="patterns-3x3", latent=2)
    save_run(tmp_path / "other", config=other, model=build_model(other.model, (1, 3, 3)), history=[])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    found = runs_on_the_same_data(same, digits.input_shape, sorted(tmp_path.iterdir()))
    assert [(folder.name, config.objective.noise) for folder, config in found] == [("same", same.objective.noise)]


def test_settings_are_named_in_words():
    ae, vae = preset_config("ae"), preset_config("vae")
    assert model_kind(ae.model) == "AE" and model_kind(vae.model) == "VAE"
    denoising = preset_config("denoising-ae")
    assert training_noise(ae.objective) == "clean"
    assert training_noise(denoising.objective) == f"{noise_name(denoising.objective.noise)} " \
                                                  f"{denoising.objective.noise_factor:g}"
    assert noise_name("salt_and_pepper") == "salt and pepper"
    assert training_noise_sentence(ae.objective) == "This model was trained on clean images (no denoising objective)."
    assert training_noise_sentence(denoising.objective).startswith("This model was trained with ")
    assert sparsity_text(preset_config("lecture-002-sparse").objective) == ", KL sparsity β 0.5 ρ 0.05"
    assert sparsity_text(ae.objective) == ""
