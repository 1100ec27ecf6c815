"""The runs shipped with the project, and the lecture labs' trained models.

- checkpoints/pretrained: MNIST runs every page can show (the run picker).
- checkpoints/labs: the lecture labs' presets, trained, so a lab's first click
  shows its result at once instead of training for up to 15 s.

``make checkpoints`` rebuilds both (:mod:`aecore.retrain_shipped`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aecore.checkpoints import CONFIG_FILE, LABS_DIR, load_run
from aecore.data import Dataset, load_dataset
from aecore.labs import LABS
from aecore.models import AutoEncoder
from aecore.presets import preset_config
from aecore.training import train_to_end


@dataclass(frozen=True)
class ShippedRun:
    """A shipped MNIST run: its folder name, preset, settings and the test-set bar it must meet."""

    name: str
    preset: str
    overrides: dict = field(default_factory=dict)
    max_test_mse: float | None = None  # the bar the shipped weights must meet on the MNIST test set


SHIPPED_RUNS = (
    ShippedRun("mnist-ae-latent2", "ae", {"latent": 2, "epochs": 20}, max_test_mse=0.040),
    ShippedRun("mnist-ae-latent32", "ae", {"latent": 32, "epochs": 10}, max_test_mse=0.010),
    ShippedRun("mnist-denoising-ae", "denoising-ae", {"latent": 32, "epochs": 10}),
    # beta 20 and 40 epochs: the preset's beta 0.5 leaves MNIST's hidden units at 0.15-0.3 against rho 0.05
    ShippedRun("mnist-sparse-ae", "sparse-ae", {"epochs": 40, "sparsity_beta": 20.0}),
    ShippedRun("mnist-conv-ae", "conv-ae", {"epochs": 10}, max_test_mse=0.010),
    ShippedRun("mnist-vae-latent2", "vae", {"epochs": 20}),
    ShippedRun("mnist-conv-vae", "conv-vae", {"epochs": 10}),
)

LAB_PRESETS = tuple(preset for lab in LABS for preset in lab.presets)  # what the Lecture labs page trains


def lab_model(preset: str, root: Path = LABS_DIR) -> tuple[AutoEncoder, Dataset]:
    """A lab's trained model and its dataset: the shipped run when it was trained from this very
    preset, else trained now (seconds)."""
    config = preset_config(preset)
    shipped = root / preset
    if (shipped / CONFIG_FILE).is_file():
        run = load_run(shipped)
        if run.config == config:
            return run.model, load_dataset(config.data)
    state, dataset, _ = train_to_end(config, device="cpu")
    return state.model.eval(), dataset
