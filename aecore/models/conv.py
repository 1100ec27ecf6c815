"""Convolutional autoencoders (lecture 000's CAE and lecture 004's pooling CAE).

``conv_block="strided"`` (lecture 000): each encoder block is
Conv2d(k=2, s=2) + BatchNorm + activation, halving H and W; the decoder mirrors
it with ConvTranspose2d(k=2, s=2). ``conv_block="pool"`` (lecture 004): each
block is Conv2d(k=3, pad=1) + BatchNorm + activation + MaxPool2d(2); the
decoder uses Upsample + Conv2d(k=3, pad=1). Both flatten the last feature
map into a Linear bottleneck of ``latent_dim`` units. The encoder halves an
odd side rounding down; the decoder gives back the size each block took in
(``output_padding``, or Upsample to that size), so every input size the blocks
accept comes back whole: 224 through seven blocks is 1 at the bottom, and 224 again.
"""

from __future__ import annotations

from itertools import pairwise

from torch import nn

from aecore.config import ModelConfig
from aecore.errors import ConfigError
from aecore.models._api import register_model
from aecore.models.base import AutoEncoder, activation_layer


def _block(config: ModelConfig, channels_in: int, channels_out: int, *,
           up_to: tuple[int, int] | None = None) -> list[nn.Module]:
    """One encoder block, or (``up_to``: the (H, W) it gives back) one decoder block."""
    if config.conv_block == "strided":
        layers: list[nn.Module] = [_up_conv(channels_in, channels_out, up_to) if up_to else
                                   nn.Conv2d(channels_in, channels_out, kernel_size=2, stride=2)]
    else:
        layers = [nn.Upsample(size=up_to, mode="nearest")] if up_to else []
        layers.append(nn.Conv2d(channels_in, channels_out, kernel_size=3, padding=1))
    if config.batch_norm:
        layers.append(nn.BatchNorm2d(channels_out))
    layers.append(activation_layer(config.activation))
    if config.conv_block == "pool" and not up_to:
        layers.append(nn.MaxPool2d(2))
    return layers


def _up_conv(channels_in: int, channels_out: int, size: tuple[int, int]) -> nn.ConvTranspose2d:
    """ConvTranspose2d(k=2, s=2) giving back ``size``: an odd side the encoder halved (rounding down) gets its
    row or column back through ``output_padding`` (out = 2 * in + output_padding)."""
    return nn.ConvTranspose2d(channels_in, channels_out, kernel_size=2, stride=2,
                              output_padding=(size[0] % 2, size[1] % 2))


@register_model("conv")
def build_conv(config: ModelConfig, input_shape: tuple[int, int, int]) -> AutoEncoder:
    """Conv encoder -> flatten -> Linear(L) -> Linear -> unflatten -> deconv decoder."""
    channels, height, width = input_shape
    if channels not in (1, 3):
        raise ConfigError(f"model arch 'conv' takes 1 or 3 input channels; got {channels}")
    hidden = list(config.hidden)
    sizes = [(height, width)]  # (H, W) into each block, then out of the last: what the decoder gives back in turn
    for _ in hidden:  # each block halves H and W, rounding down as PyTorch does
        height, width = height // 2, width // 2
        sizes.append((height, width))
    if height == 0 or width == 0:
        raise ConfigError(f"an input of {input_shape[1]}x{input_shape[2]} is too small for {len(hidden)} "
                          f"stride-2 blocks; use a larger --image-size or fewer blocks")
    feature_shape = (hidden[-1], height, width)  # (C_last, H / 2^n, W / 2^n)
    feature_dim = hidden[-1] * height * width

    encoder: list[nn.Module] = []
    for channels_in, channels_out in pairwise([channels, *hidden]):
        encoder += _block(config, channels_in, channels_out)
    encoder.append(nn.Flatten())  # (B, C_last, h, w) -> (B, C_last*h*w)

    decoder: list[nn.Module] = [
        nn.Linear(config.latent_dim, feature_dim),
        activation_layer(config.activation),
        nn.Unflatten(1, feature_shape),
    ]
    reversed_channels = hidden[::-1]
    for level, (channels_in, channels_out) in zip(range(len(hidden) - 1, 0, -1), pairwise(reversed_channels),
                                                  strict=True):
        decoder += _block(config, channels_in, channels_out, up_to=sizes[level])
    if config.conv_block == "strided":
        decoder.append(_up_conv(hidden[0], channels, sizes[0]))
    else:
        decoder += [nn.Upsample(size=sizes[0], mode="nearest"),
                    nn.Conv2d(hidden[0], channels, kernel_size=3, padding=1)]
    decoder.append(activation_layer(config.output_activation))
    return AutoEncoder(config, input_shape, nn.Sequential(*encoder), feature_dim, nn.Sequential(*decoder))
