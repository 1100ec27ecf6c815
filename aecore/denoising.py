"""The denoising lab's measurements: one noisy -> denoised -> clean example, PSNR against the noise level,
and which saved runs can be compared on the same data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aecore.checkpoints import read_run_config
from aecore.config import RunConfig
from aecore.data import Dataset
from aecore.diagnostics import denoise, psnr, psnr_against_noise
from aecore.errors import AecoreError
from aecore.models import AutoEncoder
from aecore.pixels import to_pixels


@dataclass(frozen=True)
class DenoisingExample:
    """Test images as display pixels (N, C, H, W), corrupted, denoised and clean, and what it gained."""

    noisy: np.ndarray
    denoised: np.ndarray
    clean: np.ndarray

    @property
    def noisy_psnr(self) -> float:
        """PSNR (dB) of the noisy input against the clean image."""
        return psnr(self.clean, self.noisy)

    @property
    def denoised_psnr(self) -> float:
        """PSNR (dB) of the model's output against the clean image."""
        return psnr(self.clean, self.denoised)


def denoising_example(model: AutoEncoder, data: Dataset, kind: str, level: float, count: int = 10,
                      ) -> DenoisingExample:
    """The first ``count`` test images with ``kind`` noise at ``level``, and what ``model`` makes of them."""
    clean = data.test.x[:count]
    noisy, denoised = denoise(model, clean, kind, level, value_range=data.value_range)
    return DenoisingExample(*(to_pixels(data.normalizer, t) for t in (noisy, denoised, clean)))


def psnr_curve(model: AutoEncoder, data: Dataset, kind: str, levels: Iterable[float], count: int,
               ) -> list[tuple[float, float, float]]:
    """(level, noisy PSNR, denoised PSNR) of ``model`` on the first ``count`` test images of ``data``,
    measured on display pixels (see :func:`aecore.diagnostics.psnr_against_noise`)."""
    return psnr_against_noise(model, data.test.x[:count], kind, levels,
                              to_pixels=lambda t: to_pixels(data.normalizer, t), value_range=data.value_range)


def runs_on_the_same_data(config: RunConfig, input_shape: tuple[int, ...], runs: Iterable[Path],
                          ) -> list[tuple[Path, RunConfig]]:
    """The runs (folder, config) trained on the dataset ``config`` names, at ``input_shape``: they can all
    denoise its test images. Reads only each run's config.json; a run whose config cannot be read is left out."""
    same = []
    for folder in runs:
        try:
            other, other_shape, _ = read_run_config(folder)
        except AecoreError:
            continue
        if other.data.name == config.data.name and tuple(other_shape) == tuple(input_shape):
            same.append((folder, other))
    return same
