"""Frozen, validated configuration dataclasses.

A run is fully described by a :class:`RunConfig`: what data it sees
(:class:`DataConfig`), which network it is (:class:`ModelConfig`), what it is
trained to minimise (:class:`ObjectiveConfig`) and how (:class:`TrainConfig`).
Every field has a default and every ``__post_init__`` rejects bad values with a
:class:`ConfigError` that names the field and the allowed range, so the
dashboard, the CLI and a checkpoint's ``config.json`` can never disagree.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Any

from aecore.errors import ConfigError

ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu")
OUTPUT_ACTIVATIONS = ("sigmoid", "linear")
CODE_ACTIVATIONS = ("linear", "sigmoid", "relu", "tanh")
CONV_BLOCKS = ("strided", "pool")
RECONSTRUCTION_LOSSES = ("mse", "bce")
REDUCTIONS = ("mean", "sum")
NOISE_KINDS = ("none", "gaussian", "masking", "salt_and_pepper")
SPARSITY_KINDS = ("none", "kl", "l1")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adadelta")
NORMALIZATIONS = ("unit", "standard")
COLOR_MODES = ("grey", "rgb")
DEVICES = ("auto", "cpu", "cuda")  # "cuda:N" names one GPU


def _check_choice(owner: str, name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{owner}.{name} must be one of {', '.join(map(str, choices))}; got {value!r}")


def _check_range(owner: str, name: str, value: float, lo: float, hi: float,
                 *, lo_open: bool = False, integer: bool = False) -> None:
    kind = "an integer" if integer else "a number"
    if integer and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{owner}.{name} must be {kind}; got {value!r}")
    if not integer and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConfigError(f"{owner}.{name} must be {kind}; got {value!r}")
    too_low = value <= lo if lo_open else value < lo
    if too_low or value > hi or (not integer and math.isnan(value)):
        left = "(" if lo_open else "["
        raise ConfigError(f"{owner}.{name} must be {kind} in {left}{lo}, {hi}]; got {value!r}")


@dataclass(frozen=True)
class DataConfig:
    """Which dataset a run uses and how it is prepared.

    ``name`` is a registered dataset (see :func:`aecore.data.list_datasets`) or
    ``folder:PATH`` for a labelled image folder (one sub-folder per class).
    """

    name: str = "mnist"
    classes: tuple[int, ...] | None = None  # keep only these labels (lecture 003: 1, 5, 6)
    fraction: float = 1.0  # subsample the training split (lecture 004: 0.1)
    val_fraction: float = 0.1  # taken from the training split with ``seed``
    test_fraction: float = 0.2  # held out of sets without a test split of their own (folders, digits, toys)
    normalization: str = "unit"  # "unit": pixels in [0, 1]; "standard": per-pixel z-scores
    image_size: int | None = None  # resize to a square of this side; None keeps the native size
    color: str | None = None  # "grey" or "rgb"; None keeps the native channels
    n_samples: int = 100  # size of generated toy sets (random-10x10)
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError("data.name must be a dataset name or folder:PATH; got an empty value")
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(int(c) for c in self.classes))
            if not self.classes:
                raise ConfigError("data.classes must list at least one class, or be None for all")
        _check_range("data", "fraction", self.fraction, 0.0, 1.0, lo_open=True)
        _check_range("data", "val_fraction", self.val_fraction, 0.0, 0.9)
        _check_range("data", "test_fraction", self.test_fraction, 0.05, 0.9)
        _check_choice("data", "normalization", self.normalization, NORMALIZATIONS)
        if self.image_size is not None:
            _check_range("data", "image_size", self.image_size, 2, 1024, integer=True)
        if self.color is not None:
            _check_choice("data", "color", self.color, COLOR_MODES)
        _check_range("data", "n_samples", self.n_samples, 1, 1_000_000, integer=True)
        _check_range("data", "seed", self.seed, 0, 2**31 - 1, integer=True)


@dataclass(frozen=True)
class ModelConfig:
    """The network: an architecture from the registry plus its shape options.

    For ``arch="mlp"``, ``hidden`` lists the hidden layer widths of the encoder
    (the decoder mirrors them); for ``arch="conv"`` it lists the channels of
    the convolution blocks.
    """

    arch: str = "mlp"
    latent_dim: int = 32
    hidden: tuple[int, ...] = (512, 256)
    activation: str = "relu"
    code_activation: str = "linear"  # "sigmoid" for KL-sparse codes (lecture 002)
    output_activation: str = "sigmoid"
    variational: bool = False
    init_std: float | None = None  # N(0, init_std) weights, zero biases (lecture 003: 0.1)
    dropout: float = 0.0  # between hidden layers (lecture 001)
    conv_block: str = "strided"  # "strided": k2 s2 conv + BN (lecture 000); "pool": conv + MaxPool (lecture 004)
    batch_norm: bool = True

    def __post_init__(self) -> None:
        # Whether ``arch`` is registered is checked by models.build_model, which lists the known names:
        # config stays a leaf that imports nothing of aecore but errors.
        if not isinstance(self.arch, str) or not self.arch.strip():
            raise ConfigError(f"model.arch must name an architecture; got {self.arch!r}")
        _check_range("model", "latent_dim", self.latent_dim, 1, 4096, integer=True)
        object.__setattr__(self, "hidden", tuple(self.hidden))
        for width in self.hidden:
            _check_range("model", "hidden", width, 1, 16384, integer=True)
        if self.arch == "conv" and not self.hidden:
            raise ConfigError("model.hidden must list at least one channel count for arch 'conv'")
        _check_choice("model", "activation", self.activation, ACTIVATIONS)
        _check_choice("model", "code_activation", self.code_activation, CODE_ACTIVATIONS)
        _check_choice("model", "output_activation", self.output_activation, OUTPUT_ACTIVATIONS)
        if self.variational and self.code_activation != "linear":
            raise ConfigError("model.code_activation must be 'linear' when model.variational is true "
                              "(a VAE code is a Gaussian sample)")
        if self.init_std is not None:
            _check_range("model", "init_std", self.init_std, 0.0, 10.0, lo_open=True)
        _check_range("model", "dropout", self.dropout, 0.0, 0.95)
        _check_choice("model", "conv_block", self.conv_block, CONV_BLOCKS)


@dataclass(frozen=True)
class ObjectiveConfig:
    """What training minimises: reconstruction plus optional corruption and penalties.

    See :mod:`aecore.objectives` for the exact formulas and units.
    """

    reconstruction: str = "mse"
    reduction: str = "mean"  # "sum" over pixels and batch, as lecture 002's cross-entropy
    noise: str = "none"  # input corruption while training = denoising AE
    noise_factor: float = 0.0  # gaussian std, or the fraction of pixels masked / salted
    sparsity: str = "none"  # "kl": KL(rho || rho_hat) on sigmoid codes; "l1": L1 on codes
    sparsity_beta: float = 0.0
    sparsity_rho: float = 0.05
    kl_beta: float = 1.0  # weight of the VAE KL term (beta-VAE)

    def __post_init__(self) -> None:
        _check_choice("objective", "reconstruction", self.reconstruction, RECONSTRUCTION_LOSSES)
        _check_choice("objective", "reduction", self.reduction, REDUCTIONS)
        _check_choice("objective", "noise", self.noise, NOISE_KINDS)
        _check_range("objective", "noise_factor", self.noise_factor, 0.0, 1.0)
        _check_choice("objective", "sparsity", self.sparsity, SPARSITY_KINDS)
        _check_range("objective", "sparsity_beta", self.sparsity_beta, 0.0, 100.0)
        _check_range("objective", "sparsity_rho", self.sparsity_rho, 0.0, 1.0, lo_open=True)
        if self.sparsity_rho >= 1.0:
            raise ConfigError(f"objective.sparsity_rho must be in (0, 1); got {self.sparsity_rho!r}")
        _check_range("objective", "kl_beta", self.kl_beta, 0.0, 100.0)


@dataclass(frozen=True)
class TrainConfig:
    """How the optimiser runs."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9  # SGD and RMSprop only
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"  # "auto" picks CUDA when available, else CPU
    preview_count: int = 8  # fixed train and test images reconstructed after every epoch
    layerwise_epochs: int = 0  # greedy layer-wise pre-training epochs per layer pair before training (lecture 002)

    def __post_init__(self) -> None:
        _check_range("train", "epochs", self.epochs, 1, 1_000_000, integer=True)
        _check_range("train", "batch_size", self.batch_size, 1, 1_000_000, integer=True)
        _check_range("train", "lr", self.lr, 0.0, 100.0, lo_open=True)
        _check_choice("train", "optimizer", self.optimizer, OPTIMIZERS)
        _check_range("train", "momentum", self.momentum, 0.0, 0.999)
        _check_range("train", "weight_decay", self.weight_decay, 0.0, 1.0)
        _check_range("train", "seed", self.seed, 0, 2**31 - 1, integer=True)
        if self.device != "auto" and self.device != "cpu" and not self.device.startswith("cuda"):
            raise ConfigError(f"train.device must be 'auto', 'cpu' or 'cuda[:N]'; got {self.device!r}")
        _check_range("train", "preview_count", self.preview_count, 0, 64, integer=True)
        _check_range("train", "layerwise_epochs", self.layerwise_epochs, 0, 1000, integer=True)


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run; saved as a checkpoint's config.json."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str | None = None  # the preset it started from, for display only

    def __post_init__(self) -> None:
        obj, model = self.objective, self.model
        if obj.sparsity == "kl" and model.code_activation != "sigmoid":
            raise ConfigError("objective.sparsity 'kl' needs codes in (0, 1): set model.code_activation "
                              "to 'sigmoid' (lecture 002), or use sparsity 'l1'")
        if obj.reconstruction == "bce" and model.output_activation != "sigmoid":
            raise ConfigError("objective.reconstruction 'bce' needs model.output_activation 'sigmoid'")
        if obj.reconstruction == "bce" and self.data.normalization == "standard":
            raise ConfigError("objective.reconstruction 'bce' needs targets in [0, 1]: use "
                              "data.normalization 'unit', or reconstruction 'mse'")
        if self.train.layerwise_epochs and (model.arch != "mlp" or model.variational):
            raise ConfigError("train.layerwise_epochs needs a plain (non-variational) MLP autoencoder: greedy "
                              "layer-wise pre-training stacks fully connected layers")
        if self.data.normalization == "standard" and model.output_activation == "sigmoid":
            raise ConfigError("data.normalization 'standard' gives targets outside [0, 1]: use "
                              "model.output_activation 'linear'")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunConfig:
        """Rebuild and validate a config from :meth:`to_dict` output.

        Unknown keys are rejected so that a typo in a hand-edited config.json
        is reported instead of silently ignored.
        """
        if not isinstance(raw, dict):
            raise ConfigError("a run config must be a JSON object")
        _reject_unknown("run", raw, cls)
        parts = {}
        for name, part_cls in (("data", DataConfig), ("model", ModelConfig),
                               ("objective", ObjectiveConfig), ("train", TrainConfig)):
            section = raw.get(name, {})
            if not isinstance(section, dict):
                raise ConfigError(f"{name} must be a JSON object")
            _reject_unknown(name, section, part_cls)
            section = {k: tuple(v) if isinstance(v, list) else v for k, v in section.items()}
            try:
                parts[name] = part_cls(**section)
            except TypeError as exc:  # e.g. a value of the wrong type reached a comparison
                raise ConfigError(f"{name}: {exc}") from None
        return cls(**parts, preset=raw.get("preset"))


def _reject_unknown(owner: str, raw: dict, cls: type) -> None:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{owner} has unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
