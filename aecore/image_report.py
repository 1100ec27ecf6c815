"""What a model makes of one new image (a drawn digit): its code, its reconstruction, its error, and how
unusual that error is among the test images' (an anomaly score)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from aecore.data import Normalizer
from aecore.latent import encode_images
from aecore.models import AutoEncoder
from aecore.pixels import decoded_pixels, to_pixels
from aecore.scoring import reconstruction_errors, unusualness


@dataclass(frozen=True)
class ImageReport:
    """One image as the model sees it and gives it back."""

    seen: np.ndarray  # (1, C, H, W) the model's input, as display pixels
    code: np.ndarray  # (1, L)
    reconstruction: np.ndarray  # (1, C, H, W) display pixels decoded from the code
    error: float  # mean squared reconstruction error, in the model's space
    unusualness: float  # share (0-100) of the reference images reconstructed better


def report_on(model: AutoEncoder, normalizer: Normalizer, image: np.ndarray, reference_errors: np.ndarray,
              ) -> ImageReport:
    """Encode, reconstruct and score one grey image (H, W) in [0, 1] against ``reference_errors`` (e.g. the
    test split's, from :func:`aecore.scoring.reconstruction_errors`)."""
    x = normalizer.apply(torch.as_tensor(image, dtype=torch.float32)[None, None])  # (1, 1, H, W)
    code = encode_images(model, x)
    error = float(reconstruction_errors(model, x)[0])
    return ImageReport(to_pixels(normalizer, x), code, decoded_pixels(model, normalizer, code), error,
                       unusualness(error, reference_errors))
