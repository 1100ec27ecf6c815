"""Register, list and build autoencoder architectures by name.

Modelled on torchvision's ``models/_api.py``: an architecture registers itself
where it is defined (``@register_model("conv")``), duplicate names are refused,
and :func:`list_models` feeds the dashboard's pickers and the CLI's choices.
Import the API from :mod:`aecore.models`, whose ``__init__`` imports the
built-in architectures first, so that they are always registered.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from aecore.config import ModelConfig
from aecore.errors import ConfigError
from aecore.limits import MAX_INPUT_VALUES, MAX_MODEL_PARAMETERS
from aecore.models.base import AutoEncoder

ModelBuilder = Callable[[ModelConfig, tuple[int, int, int]], AutoEncoder]
_MODELS: dict[str, ModelBuilder] = {}


def register_model(name: str) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator registering an architecture builder ``(config, input_shape) -> AutoEncoder``."""

    def wrapper(builder: ModelBuilder) -> ModelBuilder:
        if name in _MODELS:
            raise ValueError(f"an architecture named {name!r} is already registered")
        _MODELS[name] = builder
        return builder

    return wrapper


def list_models() -> list[str]:
    """Names of the registered architectures, sorted."""
    return sorted(_MODELS)


def get_model_builder(name: str) -> ModelBuilder:
    """The builder registered under ``name``."""
    try:
        return _MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown architecture {name!r}; known: {', '.join(sorted(_MODELS))}") from None


def build_model(config: ModelConfig, input_shape: tuple[int, int, int]) -> AutoEncoder:
    """Build the architecture for inputs of ``input_shape`` = (C, H, W).

    Refuses, with a message, a network whose decoder cannot give back an image
    of the input's shape (e.g. stride-2 blocks that do not divide the size; found by
    one forward pass, skipped when building on the meta device), and one of more
    than MAX_MODEL_PARAMETERS weights, counted on PyTorch's meta device (shapes
    without memory) before anything is allocated.
    """
    builder = get_model_builder(config.arch)
    if math.prod(input_shape) > MAX_INPUT_VALUES:
        raise ConfigError(f"a {_fmt(input_shape)} input has more than the {MAX_INPUT_VALUES:,} values a model may "
                          "take: choose a smaller image size")
    if torch.get_default_device().type != "meta":
        with torch.device("meta"):
            size = sum(t.numel() for t in builder(config, tuple(input_shape)).state_dict().values())
        if size > MAX_MODEL_PARAMETERS:
            raise ConfigError(f"model {config.arch} with hidden={list(config.hidden)} has {size / 1e6:.1f} M weights "
                              f"for a {_fmt(input_shape)} input; at most {MAX_MODEL_PARAMETERS / 1e6:.0f} M train "
                              "here: choose a smaller image size or fewer, narrower layers")
    model = builder(config, tuple(input_shape))
    if torch.get_default_device().type != "meta" and model.output_shape != tuple(input_shape):
        raise ConfigError(
            f"model {config.arch} with hidden={list(config.hidden)} turns a {_fmt(input_shape)} input into a "
            f"{_fmt(model.output_shape)} output; {model.shape_hint()}"
        )
    return model


def _fmt(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)
