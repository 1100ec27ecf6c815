"""The layer table: every layer's output shape and parameter count, for any model and input size.

Lecture 000 asks students to write down the feature-map sizes of its CAE for a
224x224x3 input and the size after flattening; :func:`layer_table` answers it
by running one dummy image through the network with forward hooks.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
from torch import nn

from aecore.config import ModelConfig
from aecore.errors import ConfigError
from aecore.limits import MAX_INPUT_VALUES
from aecore.models import get_model_builder
from aecore.models.base import AutoEncoder, evaluating


@dataclass(frozen=True)
class LayerRow:
    part: str  # "encoder", "code" or "decoder"
    name: str  # e.g. "Conv2d"
    output_shape: tuple[int, ...]  # without the batch dimension; (C, H, W) or (F,)
    parameters: int

    @property
    def shape_text(self) -> str:
        """``HxWxC`` for feature maps (the lectures' notation), the width for vectors."""
        if len(self.output_shape) == 3:
            channels, height, width = self.output_shape
            return f"{height}x{width}x{channels}"
        return "x".join(map(str, self.output_shape))


@dataclass(frozen=True)
class LayerTable:
    input_shape: tuple[int, int, int]
    rows: tuple[LayerRow, ...]
    output_shape: tuple[int, ...]

    @property
    def total_parameters(self) -> int:
        return sum(row.parameters for row in self.rows)

    @property
    def flatten_size(self) -> int | None:
        """Width after the encoder's Flatten (the lecture's "number of nodes after flatten")."""
        for row in self.rows:
            if row.part == "encoder" and row.name == "Flatten":
                return row.output_shape[0]
        return None

    @property
    def shape_flow(self) -> tuple[tuple[str, str], ...]:
        """The shapes the data takes on its way through, as (part, shape text): the input's, then each layer's
        that differs from the one before, so a conv net reads as its image shrinking to a code and growing back."""
        channels, height, width = self.input_shape
        flow = [("input", f"{height}x{width}x{channels}")]
        for row in self.rows:
            if row.shape_text != flow[-1][1]:
                flow.append((row.part, row.shape_text))
            elif row.part == "code":
                flow[-1] = ("code", row.shape_text)  # e.g. the code's activation after its Linear: still the code
        return tuple(flow)

    @property
    def reproduces_input(self) -> bool:
        return tuple(self.output_shape) == tuple(self.input_shape)

    def to_text(self) -> str:
        """A fixed-width table with totals, and a warning when the output shape differs from the input."""
        channels, height, width = self.input_shape
        lines = [f"{'part':<8} {'layer':<18} {'output (HxWxC)':>16} {'parameters':>12}",
                 f"{'input':<8} {'':<18} {f'{height}x{width}x{channels}':>16} {'':>12}"]
        lines += [f"{row.part:<8} {row.name:<18} {row.shape_text:>16} {row.parameters:>12,}" for row in self.rows]
        lines.append(f"total parameters: {self.total_parameters:,}")
        if self.flatten_size is not None:
            lines.append(f"size after flatten: {self.flatten_size:,}")
        if not self.reproduces_input:
            out = LayerRow("", "", tuple(self.output_shape), 0).shape_text
            lines.append(f"note: the decoder gives {out}, not the {height}x{width}x{channels} input: "
                         f"this model cannot be trained at this size")
        return "\n".join(lines)


@functools.lru_cache(maxsize=64)
def layer_table(model_config: ModelConfig, input_shape: tuple[int, int, int]) -> LayerTable:
    """The layer table of ``model_config`` for one input of ``input_shape`` (C, H, W).

    Works for sizes the model cannot be trained on too (the decoder then gives
    a different size, which the table reports), so that lecture 000's
    224x224x3 exercise can be checked. Kept per process (the table is frozen):
    building the model on the meta device was a quarter of Inside's run, for
    each student of a class following the teacher there.
    """
    if math.prod(input_shape) > MAX_INPUT_VALUES:
        raise ConfigError(f"an input of {math.prod(input_shape):,} values is more than the {MAX_INPUT_VALUES:,} "
                          "a model may take")
    with torch.device("meta"):  # shapes and counts without memory: a 224x224x3 MLP is 150 M weights
        return table_of(get_model_builder(model_config.arch)(model_config, tuple(input_shape)))


def table_of(model: AutoEncoder) -> LayerTable:
    """The layer table of an already built model."""
    rows: list[LayerRow] = []
    hooks = []
    parts = (("encoder", model.encoder_body), ("code", model.to_code), ("code", model.code_activation),
             ("decoder", model.decoder))
    for part, module in parts:
        leaves = [m for m in module.modules() if not list(m.children())] or [module]
        for leaf in leaves:
            if part == "code" and isinstance(leaf, nn.Identity):
                continue
            hooks.append(leaf.register_forward_hook(_recorder(rows, part)))
    try:
        with evaluating(model), torch.no_grad():  # BatchNorm refuses a batch of one while training
            out = model(torch.zeros(1, *model.input_shape))
    finally:
        for hook in hooks:
            hook.remove()
    return LayerTable(tuple(model.input_shape), tuple(rows), tuple(out.recon.shape[1:]))


def _recorder(rows: list[LayerRow], part: str):
    def record(module: nn.Module, inputs, output) -> None:
        parameters = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append(LayerRow(part, type(module).__name__, tuple(output.shape[1:]), parameters))

    return record


def parse_shape(text: str) -> tuple[int, int, int]:
    """``3x224x224`` (C x H x W) -> (3, 224, 224); raises ValueError with a hint otherwise."""
    try:
        shape = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"an input shape is CxHxW with positive integers, e.g. 3x224x224; got {text!r}")
    if math.prod(shape) > MAX_INPUT_VALUES:
        raise ValueError(f"{text} is more than the {MAX_INPUT_VALUES:,} input values a model may take")
    return shape
