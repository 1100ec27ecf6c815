"""Training objectives: reconstruction, input corruption, sparsity and the VAE KL.

Per sample, with D = C*H*W input values, the objective is

    J(x) = R(x_hat, x) + kl_beta * KL(q(z|x) || N(0, I))           (VAE only)
    J    = mean_batch J(x) + sparsity_beta * S(codes of the batch)  (sparse AE only)

where R sums the per-pixel loss (squared error or binary cross-entropy) over
the D values of the sample, and S is either sum_j KL(rho || rho_hat_j) with
rho_hat_j the batch mean of sigmoid code unit j (lecture 002), or the batch
mean of sum_j |code_j| (the L1 alternative). The optimised loss is J / D for
``reduction="mean"`` (so the reconstruction part reads as a per-pixel MSE,
comparable across image sizes) and J times the batch size for ``"sum"``
(lecture 002's summed cross-entropy, for plain gradient descent at lr 0.1).

The parts are reported separately, in fixed units whatever the reduction:
``reconstruction`` per pixel, ``kl`` in nats per sample, ``sparsity`` as S,
and ``total`` as the optimised loss. Denoising corrupts the *input* only while
training; the target is always the clean image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812  (PyTorch convention)

from aecore.config import ObjectiveConfig
from aecore.models.base import AutoEncoder

EPSILON = 1e-6


def corrupt(x: torch.Tensor, kind: str, level: float, generator: torch.Generator | None = None,
            value_range: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """A corrupted copy of ``x``, or ``x`` itself when there is no corruption (never modified in place).

    - ``gaussian``: x + level * N(0, 1), clipped to ``value_range`` (lecture 001's noise_factor)
    - ``masking``: each value set to 0 with probability ``level`` (lecture 002's multiplicative noise,
      lecture 004's Dropout corruption without its 1/(1-p) rescaling)
    - ``salt_and_pepper``: each value set to the range's min or max with probability ``level``
    """
    if kind == "none" or level == 0:
        return x
    lo, hi = value_range
    if kind == "gaussian":
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (x + level * noise).clamp(lo, hi)
    hit = torch.rand(x.shape, generator=generator, device=x.device) < level
    if kind == "masking":
        return x.masked_fill(hit, 0.0)
    if kind == "salt_and_pepper":
        salt = torch.rand(x.shape, generator=generator, device=x.device) < 0.5
        noisy = torch.where(salt, torch.full_like(x, hi), torch.full_like(x, lo))
        return torch.where(hit, noisy, x)
    raise ValueError(f"unknown noise kind {kind!r}")


def reconstruction_per_sample(recon: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-sample summed reconstruction loss: (B, C, H, W) x 2 -> (B,)."""
    if kind == "mse":
        per_value = (recon - target).square()
    else:
        per_value = F.binary_cross_entropy(recon.clamp(EPSILON, 1 - EPSILON), target, reduction="none")
    return per_value.flatten(1).sum(dim=1)


def reconstruction_per_value_mean(recon: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """The per-pixel loss averaged over the batch and every value: (B, C, H, W) x 2 -> ()."""
    if kind == "mse":
        return F.mse_loss(recon, target)
    return F.binary_cross_entropy(recon.clamp(EPSILON, 1 - EPSILON), target)


def gaussian_kl_per_sample(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, in nats: (B, L) -> (B,).

    Closed form (Kingma & Welling 2014, appendix B): -1/2 sum_j (1 + logvar - mu^2 - exp(logvar)).
    """
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(dim=1)


def kl_sparsity(codes: torch.Tensor, rho: float) -> torch.Tensor:
    """sum_j KL(rho || rho_hat_j), rho_hat_j = mean activation of unit j over the batch (lecture 002).

    ``codes`` (B, L) must lie in (0, 1), i.e. come from sigmoid units.
    """
    rho_hat = codes.mean(dim=0).clamp(EPSILON, 1 - EPSILON)  # (L,)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def l1_sparsity(codes: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of sum_j |code_j|."""
    return codes.abs().sum(dim=1).mean()


class Objective:
    """Computes the loss of a model on a batch, and its parts, for one :class:`ObjectiveConfig`."""

    def __init__(self, config: ObjectiveConfig, value_range: tuple[float, float] = (0.0, 1.0)) -> None:
        self.config = config
        self.value_range = value_range  # range of clean inputs, for clipping corrupted ones

    def __call__(self, model: AutoEncoder, x: torch.Tensor, *, training: bool,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Loss to minimise and its detached parts for the clean batch ``x`` (B, C, H, W).

        The input is corrupted only when ``training`` is true; the target is always ``x``.
        """
        cfg = self.config
        inputs = corrupt(x, cfg.noise, cfg.noise_factor, generator, self.value_range) if training else x
        out = model(inputs)
        values_per_sample = math.prod(x.shape[1:])  # D
        if out.logvar is None:  # mean_batch R = D * the per-value mean: one fused kernel, as a bare loop's
            per_value = reconstruction_per_value_mean(out.recon, x, cfg.reconstruction)
            objective = per_value * values_per_sample
            parts = {"reconstruction": per_value.detach()}
        else:
            per_sample = reconstruction_per_sample(out.recon, x, cfg.reconstruction)  # (B,)
            kl = gaussian_kl_per_sample(out.mu, out.logvar)  # (B,)
            parts = {"reconstruction": per_sample.mean().detach() / values_per_sample, "kl": kl.mean().detach()}
            objective = (per_sample + cfg.kl_beta * kl).mean()
        if cfg.sparsity != "none":
            penalty = kl_sparsity(out.code, cfg.sparsity_rho) if cfg.sparsity == "kl" else l1_sparsity(out.code)
            objective = objective + cfg.sparsity_beta * penalty
            parts["sparsity"] = penalty.detach()
        scale = x.shape[0] if cfg.reduction == "sum" else 1.0 / values_per_sample
        loss = objective * scale
        return loss, {"total": loss.detach(), **parts}
