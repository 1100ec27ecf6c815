"""Named run configurations: the classic autoencoders of the lectures as configs, not classes.

A preset is a :class:`RunConfig`; the dashboard's sidebar and the CLI's flags
then override its fields through the settings table (:mod:`aecore.settings`).
"""

from __future__ import annotations

from dataclasses import dataclass

from aecore.config import DataConfig, ModelConfig, ObjectiveConfig, RunConfig, TrainConfig
from aecore.errors import ConfigError
from aecore.settings import apply_overrides


@dataclass(frozen=True)
class Preset:
    """A named run configuration: one of the lectures' autoencoders."""

    name: str
    summary: str  # one line: what it is and where it comes from
    config: RunConfig
    needs_dataset: bool = False  # True when the preset has no usable default dataset (your own images)


def _preset(name: str, summary: str, *, data: DataConfig | None = None, model: ModelConfig | None = None,
            objective: ObjectiveConfig | None = None, train: TrainConfig | None = None,
            needs_dataset: bool = False) -> Preset:
    config = RunConfig(data=data or DataConfig(), model=model or ModelConfig(),
                       objective=objective or ObjectiveConfig(), train=train or TrainConfig(), preset=name)
    return Preset(name, summary, config, needs_dataset)


_TOY_DATA = DataConfig(name="patterns-3x3", val_fraction=0.0)
_TOY_MODEL = ModelConfig(hidden=(), latent_dim=4, code_activation="sigmoid", activation="sigmoid")
_TOY_OBJECTIVE = ObjectiveConfig(reconstruction="bce", reduction="sum")
_TOY_TRAIN = TrainConfig(epochs=5000, batch_size=5, lr=0.1, optimizer="sgd", momentum=0.0, preview_count=5)
_RANDOM_DATA = DataConfig(name="random-10x10", val_fraction=0.0, n_samples=100)
# The lecture asks for MSE on these and names no optimiser: full-batch Adam converges in seconds.
_RANDOM_TRAIN = TrainConfig(epochs=1000, batch_size=100, lr=1e-2, optimizer="adam")

PRESETS: dict[str, Preset] = {p.name: p for p in (
    _preset("ae", "plain MLP autoencoder 784-512-256-L-256-512-784, ReLU, MSE, Adam (lecture 001)"),
    _preset("stacked-ae", "deeper stacked MLP autoencoder 512-256-128 with a 3-d code (lecture 001)",
            model=ModelConfig(hidden=(512, 256, 128), latent_dim=3)),
    _preset("denoising-ae", "MLP autoencoder trained on Gaussian-noised inputs, noise factor 0.5 (lecture 001)",
            objective=ObjectiveConfig(noise="gaussian", noise_factor=0.5)),
    _preset("sparse-ae", "one sigmoid hidden layer of 128 with KL sparsity rho 0.05, beta 0.5 (lecture 002)",
            model=ModelConfig(hidden=(), latent_dim=128, code_activation="sigmoid"),
            objective=ObjectiveConfig(reconstruction="bce", sparsity="kl", sparsity_beta=0.5, sparsity_rho=0.05)),
    _preset("conv-ae", "convolutional AE: stride-2 Conv+BN+ReLU 32-64, Linear code of 32 (lectures 000, 004)",
            model=ModelConfig(arch="conv", hidden=(32, 64), latent_dim=32)),
    _preset("vae", "variational MLP autoencoder 512-256, 2-d latent, BCE + KL (lectures 001, 004)",
            model=ModelConfig(latent_dim=2, variational=True),
            objective=ObjectiveConfig(reconstruction="bce")),
    _preset("conv-vae", "convolutional VAE with a 10-d latent, BCE + KL (lecture 004)",
            model=ModelConfig(arch="conv", hidden=(32, 64), latent_dim=10, variational=True),
            objective=ObjectiveConfig(reconstruction="bce")),
    _preset("lecture-000-cae",
            "lecture 000's CAE: 7 stride-2 Conv(k2)+BN+ReLU blocks 32..1024, Linear code 64, MSE; "
            "for your own images at 128x128",
            data=DataConfig(name="folder:", image_size=128, color="rgb"),
            model=ModelConfig(arch="conv", hidden=(32, 64, 128, 256, 512, 1024, 1024), latent_dim=64),
            train=TrainConfig(epochs=200, batch_size=16, lr=1e-3), needs_dataset=True),
    _preset("lecture-001-denoising",
            "lecture 001's denoising AE: 784-64 ReLU code, linear decoder, noise factor 0.3",
            model=ModelConfig(hidden=(), latent_dim=64, code_activation="relu", output_activation="linear"),
            objective=ObjectiveConfig(noise="gaussian", noise_factor=0.3)),
    _preset("lecture-002-toy",
            "lecture 002's 9-4-9 sigmoid AE on five 3x3 patterns, summed cross-entropy, gradient descent lr 0.1",
            data=_TOY_DATA, model=_TOY_MODEL, objective=_TOY_OBJECTIVE, train=_TOY_TRAIN),
    _preset("lecture-002-toy-sparse", "lecture 002's 9-4-9 toy with KL sparsity beta 0.5, rho 0.1",
            data=_TOY_DATA, model=_TOY_MODEL,
            objective=ObjectiveConfig(reconstruction="bce", reduction="sum", sparsity="kl",
                                      sparsity_beta=0.5, sparsity_rho=0.1),
            train=_TOY_TRAIN),
    _preset("lecture-002-undercomplete", "lecture 002: 100 random 10x10 images, 49 sigmoid hidden units, MSE",
            data=_RANDOM_DATA, model=ModelConfig(hidden=(), latent_dim=49, code_activation="sigmoid"),
            train=_RANDOM_TRAIN),
    _preset("lecture-002-overcomplete", "lecture 002: 100 random 10x10 images, 144 sigmoid hidden units",
            data=_RANDOM_DATA, model=ModelConfig(hidden=(), latent_dim=144, code_activation="sigmoid"),
            train=_RANDOM_TRAIN),
    _preset("lecture-002-sparse", "lecture 002: 100 random 10x10 images, 144 sparse units (rho 0.05, beta 0.5)",
            data=_RANDOM_DATA, model=ModelConfig(hidden=(), latent_dim=144, code_activation="sigmoid"),
            objective=ObjectiveConfig(sparsity="kl", sparsity_beta=0.5, sparsity_rho=0.05),
            train=_RANDOM_TRAIN),
    _preset("lecture-002-mnist-denoising",
            "lecture 002 (d): 625 sigmoid units, 10% masking noise, cross-entropy, KL rho 0.02 beta 0.4, "
            "SGD lr 0.1, batch 128",
            model=ModelConfig(hidden=(), latent_dim=625, code_activation="sigmoid"),
            objective=ObjectiveConfig(reconstruction="bce", noise="masking", noise_factor=0.1,
                                      sparsity="kl", sparsity_beta=0.4, sparsity_rho=0.02),
            train=TrainConfig(optimizer="sgd", lr=0.1, momentum=0.0, batch_size=128)),
    _preset("lecture-003-ae",
            "lecture 003's 784-500-300-2 tanh AE, N(0, 0.1) weights, Adam 1e-4, batch 50, digits 1/5/6",
            data=DataConfig(classes=(1, 5, 6)),
            model=ModelConfig(hidden=(500, 300), latent_dim=2, activation="tanh", init_std=0.1),
            train=TrainConfig(epochs=7, batch_size=50, lr=1e-4)),
    _preset("lecture-004-denoising",
            "lecture 004's denoising AE: Dropout(0.3) masking, 10-d ReLU code, sigmoid decoder, on 10% of MNIST",
            data=DataConfig(fraction=0.1),
            model=ModelConfig(hidden=(), latent_dim=10, code_activation="relu"),
            objective=ObjectiveConfig(reconstruction="bce", noise="masking", noise_factor=0.3),
            train=TrainConfig(epochs=20)),
    _preset("lecture-004-conv-ae",
            "lecture 004's conv AE: Conv+MaxPool / UpSampling 16-8, BCE, Adadelta",
            model=ModelConfig(arch="conv", conv_block="pool", hidden=(16, 8), latent_dim=32),
            objective=ObjectiveConfig(reconstruction="bce"),
            train=TrainConfig(optimizer="adadelta", lr=1.0)),
)}


def list_presets() -> list[Preset]:
    """All presets, in the order the lectures introduce them."""
    return list(PRESETS.values())


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a ConfigError listing the known names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None


def preset_config(name: str, **overrides) -> RunConfig:
    """The preset's :class:`RunConfig` with the given settings (names of :data:`aecore.settings.SETTINGS`) replaced.

    ``None`` keeps the preset's value, e.g. ``preset_config("ae", latent=2, noise=None)``.
    """
    preset = get_preset(name)
    config = apply_overrides(preset.config, **overrides)
    if preset.needs_dataset and config.data.name == preset.config.data.name:
        raise ConfigError(f"preset {name!r} trains on your own labelled images: pass a dataset "
                          f"folder:PATH (one sub-folder per class)")
    return config
