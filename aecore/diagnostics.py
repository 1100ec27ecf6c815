"""Looking inside a trained autoencoder: weights as pictures, activations, sparsity, VAE KL, PSNR.

Everything here returns numpy arrays or plain numbers, ready for viz.mosaic or
a chart; nothing draws.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from aecore.models.base import AutoEncoder, evaluating
from aecore.objectives import corrupt, gaussian_kl_per_sample

DEAD_UNIT_STD = 1e-3  # a code unit whose activation varies less than this over the data is dead
COLLAPSED_KL_NATS = 0.01  # a VAE latent dimension whose mean KL is below this carries no information


def _first(modules, kinds):
    return next((m for m in modules if isinstance(m, kinds)), None)


def encoder_filters(model: AutoEncoder) -> np.ndarray:
    """First-layer encoder weights as pictures: (units, C, H, W) for an MLP (each hidden unit's weights
    over the input image, lectures 002 and 004), (out_channels, in_channels, k, k) for a conv model."""
    layer = _first(model.encoder_body.modules(), (nn.Linear, nn.Conv2d)) or model.to_code
    weight = layer.weight.detach().cpu().float()
    if isinstance(layer, nn.Conv2d):
        return weight.numpy()
    return weight.reshape(weight.shape[0], *model.input_shape).numpy()  # (units, D) -> (units, C, H, W)


def decoder_filters(model: AutoEncoder) -> np.ndarray:
    """Last-layer decoder weights as pictures: what each unit of the last hidden layer adds to the output,
    (units, C, H, W) for an MLP, (in_channels, out_channels, k, k) for a conv model."""
    layer = last_decoder_layer(model)
    weight = layer.weight.detach().cpu().float()
    if isinstance(layer, nn.Linear):
        return weight.T.reshape(weight.shape[1], *model.input_shape).numpy()  # (D, units) -> (units, C, H, W)
    return weight.numpy()


def last_decoder_layer(model: AutoEncoder) -> nn.Linear | nn.Conv2d | nn.ConvTranspose2d:
    """The decoder's last weighted layer: the one that paints the output."""
    return [m for m in model.decoder.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))][-1]


def filter_pictures(filters: np.ndarray, max_tiles: int) -> np.ndarray:
    """At most ``max_tiles`` filters (N, C, k, k) ready to draw: each scaled to [0, 1] on its own, and
    filters over many channels (not grey or RGB) cut to their first channel."""
    if filters.shape[1] not in (1, 3):
        filters = filters[:, :1]
    return to_display(filters[:max_tiles])


def to_display(filters: np.ndarray) -> np.ndarray:
    """Scale each filter (N, C, H, W) to [0, 1] on its own (min -> 0, max -> 1), as the lectures show them."""
    flat = filters.reshape(len(filters), -1)
    low, high = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    return ((flat - low) / np.maximum(high - low, 1e-12)).reshape(filters.shape)


def code_image_shape(units: int) -> tuple[int, int]:
    """The (rows, columns) a code of ``units`` values is drawn as: 49 -> 7x7, 144 -> 12x12, 10 -> 2x5."""
    rows = math.isqrt(units)
    while units % rows:
        rows -= 1
    return rows, units // rows


def codes_as_images(codes: np.ndarray) -> np.ndarray:
    """Codes (N, L) as (N, 1, rows, columns) pictures (lecture 002's 7x7 and 12x12 activations)."""
    rows, columns = code_image_shape(codes.shape[1])
    return np.asarray(codes, dtype=np.float32).reshape(len(codes), 1, rows, columns)


def activation_pictures(codes: np.ndarray) -> np.ndarray:
    """Codes (N, L) as (N, 1, rows, columns) pictures scaled together to [0, 1] (bright = active), so that
    pictures of one batch compare."""
    pictures = codes_as_images(codes)
    return (pictures - pictures.min()) / max(float(np.ptp(pictures)), 1e-12)


def mean_activations(codes: np.ndarray) -> np.ndarray:
    """rho_hat: each code unit's mean activation over the data, (L,)."""
    return np.asarray(codes, dtype=np.float64).mean(axis=0)


def dead_units(codes: np.ndarray, min_std: float = DEAD_UNIT_STD) -> np.ndarray:
    """Indices of code units whose activation hardly varies over the data (they carry nothing)."""
    return np.flatnonzero(np.asarray(codes, dtype=np.float64).std(axis=0) < min_std)


def kl_per_dimension(model: AutoEncoder, x: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """Mean KL(q(z_j|x) || N(0, 1)) in nats for each latent dimension j of a VAE: (L,)."""
    if not model.variational:
        raise ValueError("KL per dimension needs a variational model")
    total = torch.zeros(model.latent_dim, dtype=torch.float64)
    with evaluating(model), torch.inference_mode():
        for start in range(0, len(x), batch_size):
            mu, logvar = model.encode_distribution(x[start:start + batch_size])
            total += (-0.5 * (1 + logvar - mu.square() - logvar.exp())).sum(dim=0).double().cpu()
    return (total / len(x)).numpy()


def collapsed_dimensions(kl: np.ndarray, threshold: float = COLLAPSED_KL_NATS) -> np.ndarray:
    """Latent dimensions whose KL is (nearly) zero: the encoder ignores them, they are the prior."""
    return np.flatnonzero(np.asarray(kl) < threshold)


def total_kl(model: AutoEncoder, x: torch.Tensor) -> float:
    """Mean KL per sample in nats (the sum of kl_per_dimension, computed the objective's way)."""
    with evaluating(model), torch.inference_mode():
        mu, logvar = model.encode_distribution(x)
        return float(gaussian_kl_per_sample(mu, logvar).mean())


def traversal_codes(base: np.ndarray, dimension: int, values: np.ndarray) -> np.ndarray:
    """Copies of code ``base`` (L,) with dimension ``dimension`` set to each of ``values``: (len(values), L)."""
    codes = np.repeat(np.asarray(base, dtype=np.float32)[None], len(values), axis=0)
    codes[:, dimension] = values
    return codes


def traversals(codes: np.ndarray, values: np.ndarray, max_dimensions: int = 16) -> np.ndarray:
    """Rows of codes (D * len(values), L) that each sweep one latent dimension (the first D, at most
    ``max_dimensions``) through ``values`` with the others held at the mean of ``codes`` (N, L)."""
    base = codes.mean(axis=0)
    rows = [traversal_codes(base, d, values) for d in range(min(codes.shape[1], max_dimensions))]
    return np.concatenate(rows)


def psnr(reference: np.ndarray, image: np.ndarray, max_value: float = 1.0) -> float:
    """Mean peak signal-to-noise ratio in dB of images against their references, both (N, ...) in [0, 1]."""
    reference, image = np.asarray(reference, dtype=np.float64), np.asarray(image, dtype=np.float64)
    mse = ((reference - image) ** 2).reshape(len(reference), -1).mean(axis=1)
    return float(np.mean(10 * np.log10(max_value ** 2 / np.maximum(mse, 1e-12))))


def denoise(model: AutoEncoder, clean: torch.Tensor, kind: str, level: float, seed: int = 0,
            value_range: tuple[float, float] = (0.0, 1.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """Corrupt ``clean`` images (N, C, H, W) with ``kind`` noise at ``level`` and reconstruct them:
    returns (noisy, denoised), in the model's input space."""
    noisy = corrupt(clean, kind, level, torch.Generator().manual_seed(seed), value_range)
    with evaluating(model), torch.inference_mode():
        return noisy, model.reconstruct(noisy)


def psnr_against_noise(model: AutoEncoder, clean: torch.Tensor, kind: str, levels, seed: int = 0,
                       to_pixels=lambda t: t.numpy(), value_range: tuple[float, float] = (0.0, 1.0),
                       ) -> list[tuple[float, float, float]]:
    """(level, PSNR of the noisy input, PSNR of the denoised output) against the clean images, per level;
    ``value_range`` is that of the model's inputs, which noisy inputs are clipped to (see :func:`denoise`)."""
    reference = to_pixels(clean)
    rows = []
    for level in levels:
        noisy, denoised = denoise(model, clean, kind, float(level), seed, value_range)
        rows.append((float(level), psnr(reference, to_pixels(noisy)), psnr(reference, to_pixels(denoised))))
    return rows
