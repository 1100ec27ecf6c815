"""Convolutional autoencoders (lecture 000's CAE and lecture 004's pooling CAE).

``conv_block="strided"`` (lecture 000): each encoder block is
Conv2d(k=2, s=2) + BatchNorm + activation, halving H and W; the decoder mirrors
it with ConvTranspose2d(k=2, s=2). ``conv_block="pool"`` (lecture 004): each
block is Conv2d(k=3, pad=1) + BatchNorm + activation + MaxPool2d(2); the
decoder uses Upsample(x2) + Conv2d(k=3, pad=1). Both flatten the last feature
map into a Linear bottleneck of ``latent_dim`` units.
"""

from __future__ import annotations

from itertools import pairwise

from torch import nn

from aecore.config import ModelConfig
from aecore.errors import ConfigError
from aecore.models._api import register_model
from aecore.models.base import AutoEncoder, activation_layer


def _block(config: ModelConfig, channels_in: int, channels_out: int, *, up: bool) -> list[nn.Module]:
    if config.conv_block == "strided":
        conv_cls = nn.ConvTranspose2d if up else nn.Conv2d
        layers: list[nn.Module] = [conv_cls(channels_in, channels_out, kernel_size=2, stride=2)]
    else:
        layers = [nn.Upsample(scale_factor=2, mode="nearest")] if up else []
        layers.append(nn.Conv2d(channels_in, channels_out, kernel_size=3, padding=1))
    if config.batch_norm:
        layers.append(nn.BatchNorm2d(channels_out))
    layers.append(activation_layer(config.activation))
    if config.conv_block == "pool" and not up:
        layers.append(nn.MaxPool2d(2))
    return layers


class ConvAutoEncoder(AutoEncoder):
    """An :class:`AutoEncoder` that explains which input sizes its strides allow."""

    def shape_hint(self) -> str:
        factor = 2 ** len(self.config.hidden)
        return (f"its {len(self.config.hidden)} stride-2 blocks need an image side divisible by {factor} "
                f"(e.g. --image-size {-(-self.input_shape[1] // factor) * factor}), or fewer blocks")


@register_model("conv")
def build_conv(config: ModelConfig, input_shape: tuple[int, int, int]) -> AutoEncoder:
    """Conv encoder -> flatten -> Linear(L) -> Linear -> unflatten -> deconv decoder."""
    channels, height, width = input_shape
    if channels not in (1, 3):
        raise ConfigError(f"model arch 'conv' takes 1 or 3 input channels; got {channels}")
    hidden = list(config.hidden)
    for _ in hidden:  # each block halves H and W, rounding down as PyTorch does
        height, width = height // 2, width // 2
    if height == 0 or width == 0:
        raise ConfigError(f"an input of {input_shape[1]}x{input_shape[2]} is too small for {len(hidden)} "
                          f"stride-2 blocks; use a larger --image-size or fewer blocks")
    feature_shape = (hidden[-1], height, width)  # (C_last, H / 2^n, W / 2^n)
    feature_dim = hidden[-1] * height * width

    encoder: list[nn.Module] = []
    for channels_in, channels_out in pairwise([channels, *hidden]):
        encoder += _block(config, channels_in, channels_out, up=False)
    encoder.append(nn.Flatten())  # (B, C_last, h, w) -> (B, C_last*h*w)

    decoder: list[nn.Module] = [
        nn.Linear(config.latent_dim, feature_dim),
        activation_layer(config.activation),
        nn.Unflatten(1, feature_shape),
    ]
    reversed_channels = hidden[::-1]
    for channels_in, channels_out in pairwise(reversed_channels):
        decoder += _block(config, channels_in, channels_out, up=True)
    if config.conv_block == "strided":
        decoder.append(nn.ConvTranspose2d(hidden[0], channels, kernel_size=2, stride=2))
    else:
        decoder += [nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv2d(hidden[0], channels, kernel_size=3, padding=1)]
    decoder.append(activation_layer(config.output_activation))
    return ConvAutoEncoder(config, input_shape, nn.Sequential(*encoder), feature_dim, nn.Sequential(*decoder))
