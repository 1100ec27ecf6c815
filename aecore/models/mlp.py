"""Fully connected autoencoders: plain, stacked, sparse, denoising and VAE (lectures 001-004)."""

from __future__ import annotations

import math
from itertools import pairwise

from torch import nn

from aecore.config import ModelConfig
from aecore.models._api import register_model
from aecore.models.base import AutoEncoder, activation_layer


def _dense_stack(widths: list[int], activation: str, dropout: float) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for width_in, width_out in pairwise(widths):
        layers += [nn.Linear(width_in, width_out), activation_layer(activation)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return layers


@register_model("mlp")
def build_mlp(config: ModelConfig, input_shape: tuple[int, int, int]) -> AutoEncoder:
    """D -> hidden... -> L -> ...hidden reversed -> D, with D = C*H*W.

    With ``hidden=()`` this is the one-hidden-layer autoencoder of lecture 002
    (e.g. 9-4-9 with sigmoid codes); ``hidden=(500, 300)`` with tanh and L=2 is
    lecture 003's 784-500-300-2-300-500-784.
    """
    input_dim = math.prod(input_shape)
    hidden = list(config.hidden)
    encoder_body = nn.Sequential(
        nn.Flatten(),  # (B, C, H, W) -> (B, D)
        *_dense_stack([input_dim, *hidden], config.activation, config.dropout),
    )
    decoder_widths = [config.latent_dim, *reversed(hidden)]
    decoder = nn.Sequential(
        *_dense_stack(decoder_widths, config.activation, config.dropout),
        nn.Linear(decoder_widths[-1], input_dim),
        activation_layer(config.output_activation),
        nn.Unflatten(1, tuple(input_shape)),  # (B, D) -> (B, C, H, W)
    )
    feature_dim = hidden[-1] if hidden else input_dim
    return AutoEncoder(config, input_shape, encoder_body, feature_dim, decoder)
