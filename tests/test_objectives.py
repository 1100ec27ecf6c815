"""Objectives: corruption only in training against clean targets, hand-checked penalties."""

import math

import pytest
import torch

from aecore.config import ModelConfig, ObjectiveConfig
from aecore.models import build_model
from aecore.objectives import Objective, corrupt, gaussian_kl_per_sample, kl_sparsity, l1_sparsity


class RecordingModel(torch.nn.Module):
    """Wraps a model and remembers the inputs it was given."""

    def __init__(self, model):
        super().__init__()
        self.model, self.seen = model, []

    def forward(self, x):
        self.seen.append(x.clone())
        return self.model(x)


@pytest.mark.parametrize("kind", ["gaussian", "masking", "salt_and_pepper"])
def test_denoising_corrupts_inputs_only_while_training_and_targets_the_clean_image(kind):
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(8,), latent_dim=2), (1, 4, 4))
    recorder = RecordingModel(model)
    x = torch.rand(16, 1, 4, 4)
    objective = Objective(ObjectiveConfig(noise=kind, noise_factor=0.5))
    _, parts = objective(recorder, x, training=True)
    noisy_input = recorder.seen[-1]
    assert not torch.equal(noisy_input, x)
    with torch.no_grad():
        recon_of_noisy = model(noisy_input).recon
    # the reported reconstruction loss compares the output for the noisy input with the CLEAN x
    assert parts["reconstruction"].item() == pytest.approx(((recon_of_noisy - x) ** 2).mean().item(), rel=1e-5)
    objective(recorder, x, training=False)
    assert torch.equal(recorder.seen[-1], x)


def test_corruption_kinds_do_what_they_say():
    generator = torch.Generator().manual_seed(0)
    x = torch.full((1, 1, 100, 100), 0.5)
    masked = corrupt(x, "masking", 0.3, generator)
    assert set(masked.unique().tolist()) == {0.0, 0.5}
    assert (masked == 0).float().mean().item() == pytest.approx(0.3, abs=0.02)
    salted = corrupt(x, "salt_and_pepper", 0.2, generator)
    assert set(salted.unique().tolist()) == {0.0, 0.5, 1.0}
    assert (salted != 0.5).float().mean().item() == pytest.approx(0.2, abs=0.02)
    noisy = corrupt(x, "gaussian", 0.1, generator)
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert (noisy - x).std().item() == pytest.approx(0.1, abs=0.01)
    assert torch.equal(x, torch.full((1, 1, 100, 100), 0.5))  # never in place


def test_kl_sparsity_equals_hand_computed_value():
    codes = torch.tensor([[0.2, 0.6], [0.4, 0.2]])  # rho_hat = (0.3, 0.4)
    rho = 0.1
    expected = sum(rho * math.log(rho / r) + (1 - rho) * math.log((1 - rho) / (1 - r)) for r in (0.3, 0.4))
    assert kl_sparsity(codes, rho).item() == pytest.approx(expected, rel=1e-6)
    assert kl_sparsity(torch.full((5, 3), rho), rho).item() == pytest.approx(0.0, abs=1e-6)


def test_l1_sparsity():
    assert l1_sparsity(torch.tensor([[1.0, -2.0], [0.0, 3.0]])).item() == pytest.approx(3.0)


def test_vae_kl_equals_the_closed_form():
    torch.manual_seed(1)
    mu, logvar = torch.randn(6, 3), torch.randn(6, 3)
    posterior = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    prior = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    expected = torch.distributions.kl_divergence(posterior, prior).sum(dim=1)
    assert torch.allclose(gaussian_kl_per_sample(mu, logvar), expected, atol=1e-5)


def test_vae_objective_adds_beta_weighted_kl_per_pixel():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(8,), latent_dim=2, variational=True), (1, 4, 4)).eval()
    x = torch.rand(5, 1, 4, 4)
    loss, parts = Objective(ObjectiveConfig(reconstruction="mse", kl_beta=0.5))(model, x, training=False)
    assert set(parts) == {"total", "reconstruction", "kl"}
    assert loss.item() == pytest.approx(parts["reconstruction"].item() + 0.5 * parts["kl"].item() / 16, rel=1e-5)


def test_sum_reduction_scales_to_the_summed_cross_entropy():
    model = build_model(ModelConfig(hidden=(), latent_dim=4, code_activation="sigmoid"), (1, 3, 3)).eval()
    x = (torch.rand(5, 1, 3, 3) > 0.5).float()
    loss, parts = Objective(ObjectiveConfig(reconstruction="bce", reduction="sum"))(model, x, training=False)
    with torch.no_grad():
        expected = torch.nn.functional.binary_cross_entropy(model(x).recon, x, reduction="sum")
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert parts["reconstruction"].item() == pytest.approx(expected.item() / x.numel(), rel=1e-5)


def test_sparsity_part_is_reported_and_weighted():
    model = build_model(ModelConfig(hidden=(), latent_dim=6, code_activation="sigmoid"), (1, 3, 3)).eval()
    x = torch.rand(8, 1, 3, 3)
    config = ObjectiveConfig(sparsity="kl", sparsity_beta=2.0, sparsity_rho=0.05)
    loss, parts = Objective(config)(model, x, training=False)
    assert parts["sparsity"].item() == pytest.approx(kl_sparsity(model(x).code, 0.05).item(), rel=1e-5)
    assert loss.item() == pytest.approx(parts["reconstruction"].item() + 2.0 * parts["sparsity"].item() / 9,
                                        rel=1e-5)
