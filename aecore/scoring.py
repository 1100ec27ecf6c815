"""How well a model reconstructs images: per-image errors, a split's MSE, and an anomaly score."""

from __future__ import annotations

import numpy as np
import torch

from aecore.data import Split
from aecore.models import AutoEncoder, evaluating


def reconstruction_errors(model: AutoEncoder, x: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """Per-image mean squared reconstruction error of images (N, C, H, W): (N,)."""
    errors = []
    with evaluating(model), torch.inference_mode():
        for start in range(0, len(x), batch_size):
            batch = x[start:start + batch_size]
            errors.append((model.reconstruct(batch) - batch).square().flatten(1).mean(dim=1))
    return torch.cat(errors).numpy() if errors else np.zeros(0, dtype=np.float32)


def unusualness(error: float, reference_errors: np.ndarray) -> float:
    """Share (0-100) of reference images reconstructed better than this one: an anomaly score."""
    return float((np.asarray(reference_errors) < error).mean() * 100.0)


def reconstruction_mse(model: AutoEncoder, split: Split, batch_size: int = 1000) -> float:
    """Mean per-pixel squared error of ``model``'s reconstructions of the clean images of ``split``."""
    total = 0.0
    with evaluating(model), torch.inference_mode():
        for start in range(0, len(split), batch_size):
            x = split.x[start:start + batch_size]
            total += float((model.reconstruct(x) - x).square().sum())
    return total / split.x.numel()
