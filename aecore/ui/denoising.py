"""The Denoising lab's measures: the levels its charts use, the noise it opens with, and its warm-up."""

import numpy as np

from aecore.ui.cache import RunRef, noise_matrix, outside_a_script, psnr_by_noise_level
from aecore.ui.widgets import DEFAULT_RUN

DENOISE_CURVE_LEVELS = tuple(np.linspace(0.1, 1.0, 10).round(2))  # at 0 the noisy input is the original: infinite PSNR
DENOISE_MATRIX_LEVELS = (0.0, 0.25, 0.5, 0.75)
DENOISE_CURVE_IMAGES = 500


def denoise_kind(ref: RunRef, offered: tuple[str, ...]) -> str:
    """The test noise the Denoising lab opens with: the one the run trained with, else the first offered."""
    trained_with = ref.run().config.objective.noise
    return trained_with if trained_with in offered else offered[0]


def warm_up_default_denoising(offered: tuple[str, ...]) -> None:
    """Fill the shared caches of a first look at the Denoising lab on the default run: its PSNR curve and the
    matrix of every run on its data (measured: 2.8 s of a first open on 2 cores, 16 s beside a class)."""
    if not DEFAULT_RUN.is_dir():
        return
    ref = RunRef.of(DEFAULT_RUN)
    with outside_a_script():
        kind = denoise_kind(ref, offered)
        psnr_by_noise_level(ref, ref, kind, DENOISE_CURVE_LEVELS, DENOISE_CURVE_IMAGES)
        noise_matrix(ref, kind, DENOISE_MATRIX_LEVELS)
