"""The one table of user settings: every knob a person turns on a run, declared once.

Each :class:`Setting` names the config field it sets, the values it takes, its
help text and what a widget needs to draw it. The CLI's ``train`` flags and the
dashboard's sidebar widgets are generated from :data:`SETTINGS` (URL query
parameters will be too), and :func:`apply_overrides` puts values onto a
:class:`RunConfig`, so none of them can disagree. Ranges here are the widgets'
ranges; the config dataclasses still validate every value.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from aecore.config import (
    ACTIVATIONS,
    COLOR_MODES,
    DEVICES,
    NOISE_KINDS,
    NORMALIZATIONS,
    OPTIMIZERS,
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    RunConfig,
    TrainConfig,
)
from aecore.errors import ConfigError

SECTIONS = {"data": DataConfig, "model": ModelConfig, "objective": ObjectiveConfig, "train": TrainConfig}
WIDGETS = ("slider", "select_slider", "select", "number", "multiselect", "dataset")
GROUPS = ("main", "advanced")
KINDS = (int, float, str, tuple)  # tuple: a tuple of ints (class labels)

# The stops the widgets offer; other values are accepted (the config validates them).
CLASS_LABELS = tuple(range(10))  # MNIST, Fashion-MNIST and digits have ten classes
IMAGE_SIZES = (0, 16, 28, 32, 48, 64, 96, 128, 160, 192, 224)  # 0: the native size
BATCH_SIZES = (5, 8, 16, 32, 50, 64, 100, 128, 256, 512, 1024)
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
NATIVE_COLOR = "native"

DEFAULT_NOISE_KIND = "gaussian"  # what a noise factor above 0 turns on when a run has no noise kind


@dataclass(frozen=True)
class Setting:
    """One user setting: the config field it sets, the values it takes, and how a widget shows it.

    A value is what the CLI parses, the sidebar holds and :func:`apply_overrides`
    takes. ``None`` always means "keep the preset's value"; an optional config
    field that should become ``None`` (all classes, native image size) is
    written as ``none_value`` (spelt ``none_text`` on the command line).
    """

    name: str  # stable: the CLI flag is --name-with-dashes, the widget key and URL parameter derive from it
    section: str  # a RunConfig section: data, model, objective or train
    field: str  # the field of that section it sets
    kind: type  # int, float, str or tuple (of ints)
    label: str  # the widget's label
    help: str
    widget: str  # one of WIDGETS
    group: str = "main"  # "main": always visible in the sidebar; "advanced": in its expander
    lo: float | None = None  # the slider's or number input's range
    hi: float | None = None
    step: float | None = None
    choices: tuple = ()  # the values offered by select widgets (and, when strict, the only ones accepted)
    strict: bool = True  # False: choices are the usual stops and any other value of the kind is accepted
    none_value: Any = None  # the value that sets the config field to None
    none_text: str = ""  # how none_value is written as text
    default: Any = None  # None: keep the preset's value

    def __post_init__(self) -> None:
        if self.section not in SECTIONS or self.field not in {f.name for f in fields(SECTIONS[self.section])}:
            raise ValueError(f"setting {self.name!r}: no config field {self.section}.{self.field}")
        if self.kind not in KINDS or self.widget not in WIDGETS or self.group not in GROUPS:
            raise ValueError(f"setting {self.name!r}: kind, widget or group is not one of the known ones")

    @property
    def flag(self) -> str:
        """The CLI flag, e.g. ``--noise-kind``."""
        return "--" + self.name.replace("_", "-")

    @property
    def expected(self) -> str:
        """What the setting accepts, in words (for help texts and error messages)."""
        if self.choices and self.strict:
            return "one of " + ", ".join(self.format(choice) for choice in self.choices)
        words = {int: "an integer", float: "a number", str: "text",
                 tuple: "comma-separated integers, e.g. 1,5,6"}[self.kind]
        if self.none_text:
            words += f", or {self.none_text}"
        return words

    def parse(self, text: str) -> Any:
        """The value written as ``text`` (a CLI flag's or URL parameter's); a ConfigError of one line if garbage."""
        text = text.strip()
        if self.none_text and text.lower() == self.none_text:
            return self.none_value
        try:
            if self.kind is tuple:
                value = tuple(int(part) for part in text.split(",") if part.strip())
                if not value:
                    raise ValueError(text)
            else:
                value = self.kind(text)
        except ValueError:
            raise ConfigError(f"{self.name} must be {self.expected}; got {text!r}") from None
        if self.choices and self.strict and value not in self.choices:
            raise ConfigError(f"{self.name} must be {self.expected}; got {text!r}")
        return value

    def format(self, value: Any) -> str:
        """``value`` as text that :meth:`parse` reads back."""
        if self.none_text and value == self.none_value:
            return self.none_text
        if self.kind is tuple:
            return ",".join(str(item) for item in value)
        return str(value)  # a float's shortest text that reads back exactly

    def config_value(self, value: Any) -> Any:
        """What the config field gets for ``value``."""
        if self.kind is tuple:
            value = tuple(value)
        return None if self.none_value is not None and value == self.none_value else value

    def read(self, config: RunConfig) -> Any:
        """This setting's value in ``config`` (the inverse of :meth:`config_value`)."""
        value = getattr(getattr(config, self.section), self.field)
        if value is None:
            return self.none_value
        return self.kind(value) if self.kind in (int, float) else value


SETTINGS: tuple[Setting, ...] = (
    Setting("dataset", "data", "name", str, "Dataset", "a registered dataset (see `datasets`) or folder:PATH, "
            "a folder of images with one sub-folder per class", "dataset"),
    Setting("classes", "data", "classes", tuple, "Classes",
            "keep only these labels (lecture 003 trains on digits 1, 5 and 6); all (none picked) keeps every class",
            "multiselect", choices=CLASS_LABELS, strict=False, none_value=(), none_text="all"),
    Setting("latent", "model", "latent_dim", int, "Latent size", "units in the code (the bottleneck)", "slider",
            lo=1, hi=128, step=1),
    Setting("activation", "model", "activation", str, "Activation",
            "the hidden layers' non-linearity (lecture 003: tanh)", "select", choices=ACTIVATIONS),
    Setting("noise_kind", "objective", "noise", str, "Noise kind",
            "how the inputs are corrupted while training: a denoising AE", "select", choices=NOISE_KINDS),
    Setting("noise", "objective", "noise_factor", float, "Noise factor",
            f"gaussian noise std, or the fraction of pixels masked or salted; above 0 with no kind turns on "
            f"{DEFAULT_NOISE_KIND}", "slider", lo=0.0, hi=1.0, step=0.05),
    Setting("sparsity_beta", "objective", "sparsity_beta", float, "Sparsity beta",
            "weight of the sparsity penalty on the code (KL for sigmoid codes, else L1)", "slider",
            lo=0.0, hi=5.0, step=0.05),
    Setting("sparsity_rho", "objective", "sparsity_rho", float, "Sparsity rho",
            "target mean activation of each code unit (KL sparsity)", "slider", lo=0.01, hi=0.5, step=0.01),
    Setting("kl_beta", "objective", "kl_beta", float, "KL beta (VAE)", "weight of the VAE's KL term (beta-VAE)",
            "slider", group="advanced", lo=0.0, hi=10.0, step=0.1),
    Setting("init_std", "model", "init_std", float, "Initial weight std",
            "draw weights from N(0, std) and zero the biases (lecture 003: 0.1); default (0) keeps PyTorch's init",
            "number", group="advanced", lo=0.0, hi=10.0, step=0.01, none_value=0.0, none_text="default"),
    Setting("epochs", "train", "epochs", int, "Epochs", "passes over the training split", "number",
            group="advanced", lo=1, hi=1_000_000, step=1),
    Setting("batch_size", "train", "batch_size", int, "Batch size", "images per optimiser step", "select_slider",
            group="advanced", choices=BATCH_SIZES, strict=False),
    Setting("lr", "train", "lr", float, "Learning rate", "the optimiser's step size", "select_slider",
            group="advanced", choices=LEARNING_RATES, strict=False),
    Setting("optimizer", "train", "optimizer", str, "Optimiser", "the update rule", "select", group="advanced",
            choices=OPTIMIZERS),
    Setting("layerwise_epochs", "train", "layerwise_epochs", int,
            "Greedy layer-wise pre-training (epochs per layer, 0 = off)",
            "lecture 002: train each layer pair as a shallow autoencoder first (plain MLP only)", "number",
            group="advanced", lo=0, hi=1000, step=1),
    Setting("fraction", "data", "fraction", float, "Share of the training split",
            "train on this random share of the training images, (0, 1] (lecture 004: 0.1)", "slider",
            group="advanced", lo=0.01, hi=1.0, step=0.01),
    Setting("test_fraction", "data", "test_fraction", float, "Held-out test share",
            "taken from sets without a test split of their own (folders, digits, toys)", "slider",
            group="advanced", lo=0.05, hi=0.9, step=0.05),
    Setting("image_size", "data", "image_size", int, "Image size",
            "resize images to this square side; native keeps their size", "select", group="advanced",
            choices=IMAGE_SIZES, strict=False, none_value=0, none_text="native"),
    Setting("color", "data", "color", str, "Colour", "convert images to grey or RGB; native keeps their channels",
            "select", group="advanced", choices=(NATIVE_COLOR, *COLOR_MODES), none_value=NATIVE_COLOR,
            none_text=NATIVE_COLOR),
    Setting("normalization", "data", "normalization", str, "Normalisation",
            "unit: pixels in [0, 1]; standard: per-pixel z-scores (needs a linear output)", "select",
            group="advanced", choices=NORMALIZATIONS),
    Setting("seed", "train", "seed", int, "Seed", "seeds the initial weights and the batch order", "number",
            group="advanced", lo=0, hi=2**31 - 1, step=1),
    Setting("device", "train", "device", str, "Device", "auto, cpu, cuda or cuda:N; auto picks CUDA when available",
            "select", group="advanced", choices=DEVICES, strict=False),
)

BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}


def get_setting(name: str) -> Setting:
    """The setting called ``name``; a ConfigError listing the known names otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown setting {name!r}; known: {', '.join(sorted(BY_NAME))}") from None


def parse_setting(name: str, text: str) -> Any:
    """The value of setting ``name`` written as ``text``; a one-line ConfigError for garbage."""
    return get_setting(name).parse(text)


def values_of(config: RunConfig) -> dict[str, Any]:
    """Every setting's value in ``config``: what the widgets show for it."""
    return {setting.name: setting.read(config) for setting in SETTINGS}


def implied_noise_kind(noise_factor: float, noise_kind: str) -> str:
    """The noise kind a run trains with: a factor above 0 on a run without a kind turns on gaussian noise."""
    return DEFAULT_NOISE_KIND if noise_factor > 0 and noise_kind == "none" else noise_kind


def apply_overrides(config: RunConfig, **overrides: Any) -> RunConfig:
    """Return ``config`` with the named settings (names of :data:`SETTINGS`) replaced.

    ``None`` values are ignored, so unset CLI flags keep the preset's value.
    Setting a noise factor above 0 on a run without a noise kind turns on
    Gaussian noise, and a sparsity beta above 0 without a kind turns on the L1
    penalty (or KL when the codes are sigmoid), so the three sliders mean
    something for every preset.
    """
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for name, value in overrides.items():
        setting = get_setting(name)
        value = setting.default if value is None else value
        if value is not None:
            sections[setting.section][setting.field] = setting.config_value(value)
    objective = sections["objective"]
    try:
        if "noise" not in objective:
            objective["noise"] = implied_noise_kind(objective.get("noise_factor", 0), config.objective.noise)
        if (objective.get("sparsity_beta", 0) > 0 and config.objective.sparsity == "none"
                and "sparsity" not in objective):
            objective["sparsity"] = "kl" if config.model.code_activation == "sigmoid" else "l1"
        return replace(
            config,
            data=replace(config.data, **sections["data"]),
            model=replace(config.model, **sections["model"]),
            objective=replace(config.objective, **objective),
            train=replace(config.train, **sections["train"]),
        )
    except TypeError as exc:  # a value of the wrong type reached a comparison, e.g. latent="3"
        raise ConfigError(str(exc)) from None
