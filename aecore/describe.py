"""Short texts that name a run's settings in captions, labels and headings."""

from __future__ import annotations

from aecore.config import ModelConfig, ObjectiveConfig


def counted(count: int, noun: str) -> str:
    """A count and its noun, plural unless one: "1 epoch", "3 epochs", "10,000 points"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def model_kind(model: ModelConfig) -> str:
    """ "VAE" for a variational model, "AE" for a plain one."""
    return "VAE" if model.variational else "AE"


ARCH_NAMES = {"mlp": "MLP"}  # how people write an architecture; others ("conv") as registered


def arch_name(arch: str) -> str:
    """An architecture as people write it: "MLP", "conv"."""
    return ARCH_NAMES.get(arch, arch)


def model_name(model: ModelConfig) -> str:
    """The model as every page names it: "MLP AE", "conv VAE"."""
    return f"{arch_name(model.arch)} {model_kind(model)}"


def noise_name(kind: str) -> str:
    """A noise kind as words: "salt_and_pepper" -> "salt and pepper"."""
    return kind.replace("_", " ")


def training_noise(objective: ObjectiveConfig) -> str:
    """The noise a run was trained with, as "gaussian 0.3", or "clean"."""
    return f"{noise_name(objective.noise)} {objective.noise_factor:g}" if objective.noise != "none" else "clean"


def training_noise_sentence(objective: ObjectiveConfig) -> str:
    """One sentence on the noise a run was trained with (the denoising objective), or its absence."""
    if objective.noise == "none":
        return "This model was trained on clean images (no denoising objective)."
    return f"This model was trained with {noise_name(objective.noise)} noise at {objective.noise_factor:g}"


def sparsity_text(objective: ObjectiveConfig) -> str:
    """", KL sparsity β 0.5 ρ 0.05" for a KL-sparse run, "" otherwise (appended to a run's heading)."""
    if objective.sparsity != "kl":
        return ""
    return f", KL sparsity β {objective.sparsity_beta:g} ρ {objective.sparsity_rho:g}"
