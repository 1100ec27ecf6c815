"""From the model's space to pictures: normalised images and decoded codes as pixels in [0, 1], and PNGs.

A model sees (and gives back) images through its dataset's
:class:`~aecore.data.Normalizer`; everything a person looks at goes through
:func:`to_pixels` first.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from aecore.data import Normalizer
from aecore.latent import LatentPlane, decode_codes, encode_images
from aecore.models import AutoEncoder
from aecore.viz import mosaic, to_pil


def to_pixels(normalizer: Normalizer, images: np.ndarray | torch.Tensor) -> np.ndarray:
    """Images (N, C, H, W) in the model's space -> display pixels in [0, 1]."""
    return normalizer.inverse(torch.as_tensor(images)).clamp(0, 1).cpu().numpy()


def decoded_pixels(model: AutoEncoder, normalizer: Normalizer, codes: np.ndarray) -> np.ndarray:
    """Display pixels (N, C, H, W) of the images decoded from codes (N, L)."""
    return to_pixels(normalizer, decode_codes(model, codes))


def round_trip(model: AutoEncoder, normalizer: Normalizer, pixels: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Images in [0, 1] (N, C, H, W) -> their codes (N, L) and the pixels decoded from those codes alone."""
    codes = encode_images(model, normalizer.apply(pixels))
    return codes, decoded_pixels(model, normalizer, codes)


def manifold_image(model: AutoEncoder, normalizer: Normalizer, plane: LatentPlane, points: np.ndarray, n: int,
                   scale: int = 2) -> Image.Image:
    """The images decoded at an n x n grid of plane points (n*n, 2), top row first, tiled into one picture."""
    return to_pil(mosaic(decoded_pixels(model, normalizer, plane.lift(points)), columns=n, padding=0), scale=scale)


def png_bytes(image: Image.Image) -> bytes:
    """A PIL image as PNG bytes, compressed lightly (level 1: a large grid saves in milliseconds)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
