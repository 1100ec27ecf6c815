"""The lecture labs: what each one is (heading, what to notice, the presets it trains), and what it shows,
computed from its trained models (:func:`aecore.shipped.lab_model`).

Lecture 002's 9-4-9 toy network, its random 10x10 images under-, over-complete
and sparse, lecture 003's 2-D code and lecture 004's neighbours in a denoising
autoencoder's code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from aecore.code_sample import encode_sample
from aecore.data import Dataset
from aecore.diagnostics import codes_as_images, encoder_filters, last_decoder_layer, mean_activations, to_display
from aecore.latent import encode_images, grid_points
from aecore.latent_map import LatentMap, plane_map
from aecore.models import AutoEncoder, evaluating
from aecore.pixels import manifold_image

BINARY_THRESHOLD = 0.5  # lecture 002 binarises the sigmoid outputs at 0.5


@dataclass(frozen=True)
class Lab:
    """A lecture's exercise: its heading, what to notice (markdown), and the presets of its trained models."""

    key: str
    title: str
    notice: str
    presets: tuple[str, ...]


TOY = Lab("toy", "Lecture 002: five binary 3x3 patterns, 4 sigmoid hidden units",
          "Plain gradient descent (lr 0.1) on the summed cross-entropy finds weights that give back all five "
          "patterns exactly once the outputs are binarised. **Notice** how the KL sparsity penalty (ρ 0.1, "
          "β 0.5) pushes most hidden activations towards zero, so each pattern is carried by one or two units.",
          ("lecture-002-toy", "lecture-002-toy-sparse"))
RANDOM_IMAGES = Lab("random", "Lecture 002: 100 random 10x10 images, under-, over-complete and sparse",
                    "With 49 hidden units the network must compress; with 144 it can copy, and its filters stay "
                    "noisy. **Notice** how the sparse 144-unit network (ρ 0.05, β 0.5) uses only a few units per "
                    "image: its 12x12 activation maps are mostly dark.",
                    ("lecture-002-undercomplete", "lecture-002-overcomplete", "lecture-002-sparse"))
TWO_D = Lab("two_d", "Lecture 003: a 2-D code for the digits 1, 5 and 6",
            "The 784-500-300-2 tanh network (Adam 1e-4, batch 50) spreads the three digits over a plane. "
            "**Notice** that the 20x20 grid decoded over that plane morphs smoothly between the digits, and "
            "that points between the clusters decode to blends.",
            ("lecture-003-ae",))
DENOISING = Lab("denoising", "Lecture 004: a denoising autoencoder with a 10-number ReLU code",
                "Trained on 10 % of MNIST with 30 % of the pixels dropped from each input, it learns to fill the "
                "gaps. **Notice** the encoder weights look like strokes and blobs, and that the nearest neighbours "
                "in the 10-d code share the digit's class and style.",
                ("lecture-004-denoising",))
LABS = (TOY, RANDOM_IMAGES, TWO_D, DENOISING)  # in the page's order


@dataclass(frozen=True)
class ToyNetwork:
    """Lecture 002's 9-4-9 network on its patterns: every weight, bias, activation and output as a table."""

    tables: dict[str, np.ndarray]  # title -> (rows, columns) float64, in the lecture's order
    exact: bool  # every pattern given back exactly once the outputs are binarised


def toy_network(model: AutoEncoder, data: Dataset) -> ToyNetwork:
    """The tables of a single-hidden-layer MLP on the training patterns of ``data``, in label order."""
    x = data.train.x[data.train.y.argsort()]  # (5, 1, 3, 3)
    decoder = last_decoder_layer(model)
    with evaluating(model), torch.inference_mode():
        out = model(x)
    binary = (out.recon > BINARY_THRESHOLD).float()
    tables = {"W (9 x 4)": model.to_code.weight.T, "W' (4 x 9)": decoder.weight.T, "b": model.to_code.bias[None],
              "b'": decoder.bias[None], "hidden activations (5 x 4)": out.code,
              "outputs (5 x 9)": out.recon.flatten(1), "binarised outputs": binary.flatten(1)}
    return ToyNetwork({title: values.detach().double().numpy() for title, values in tables.items()},
                      bool(torch.equal(binary, x)))


@dataclass(frozen=True)
class SparseCoding:
    """How an MLP's hidden layer codes its training images."""

    filters: np.ndarray  # (F, C, H, W) the first units' input weights, each scaled to [0, 1]
    activations: np.ndarray  # (N, 1, rows, columns) the first images' codes as pictures
    mean_activation: float  # over every unit and training image


def sparse_coding(model: AutoEncoder, data: Dataset, filters: int = 49, images: int = 4) -> SparseCoding:
    """The first ``filters`` encoder filters, the codes of the first ``images`` training images as
    pictures, and the mean hidden activation over the training split (lecture 002's sparsity)."""
    codes = encode_images(model, data.train.x)
    return SparseCoding(to_display(encoder_filters(model))[:filters], codes_as_images(codes[:images]),
                        float(mean_activations(codes).mean()))


def two_d_manifold(model: AutoEncoder, data: Dataset, n: int = 20) -> tuple[LatentMap, Image.Image]:
    """The map of a 2-D code's test images and the n x n grid decoded evenly over its bounds (lecture 003)."""
    codes_map = plane_map(encode_images(model, data.test.x), "plane")
    x0, x1, y0, y1 = codes_map.bounds
    grid = grid_points((x0, x1), (y0, y1), n)
    return codes_map, manifold_image(model, data.normalizer, codes_map.plane, grid, n)


def test_image_neighbours(model: AutoEncoder, data: Dataset, index: int, k: int = 8) -> np.ndarray:
    """Test image ``index`` then its ``k`` nearest training images in the code, (k + 1, C, H, W)."""
    bank = encode_sample(model, data.train, len(data.train))
    query = data.test.x[[index]]
    found, _ = bank.nearest(encode_images(model, query), k)
    return np.concatenate([query.numpy(), data.train.x[found[0]].numpy()])
