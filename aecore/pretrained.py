"""The pretrained runs shipped with the project, and the one command that rebuilds them.

- checkpoints/pretrained: MNIST runs every page can show (the run picker).
- checkpoints/labs: the lecture labs' presets, trained, so a lab's first click
  shows its result at once instead of training for up to 15 s.

``make checkpoints`` (``python -m aecore.pretrained``) retrains every run from
its preset, checks the MNIST runs against their bar on the test set and saves
them without optimiser state, so each stays under 5 MB.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from aecore.checkpoints import LABS_DIR, PRETRAINED_DIR, load_run, save_run
from aecore.data import Dataset, load_dataset
from aecore.events import Epoch, Failed
from aecore.models.base import AutoEncoder
from aecore.presets import preset_config
from aecore.training import TrainingState, fit, losses_to_text


@dataclass(frozen=True)
class ShippedRun:
    name: str
    preset: str
    overrides: dict = field(default_factory=dict)
    max_test_mse: float | None = None  # the bar the shipped weights must meet on the MNIST test set


SHIPPED_RUNS = (
    ShippedRun("mnist-ae-latent2", "ae", {"latent": 2, "epochs": 20}, max_test_mse=0.040),
    ShippedRun("mnist-ae-latent32", "ae", {"latent": 32, "epochs": 10}, max_test_mse=0.010),
    ShippedRun("mnist-denoising-ae", "denoising-ae", {"latent": 32, "epochs": 10}),
    ShippedRun("mnist-sparse-ae", "sparse-ae", {"epochs": 10}),
    ShippedRun("mnist-conv-ae", "conv-ae", {"epochs": 10}, max_test_mse=0.010),
    ShippedRun("mnist-vae-latent2", "vae", {"epochs": 20}),
    ShippedRun("mnist-conv-vae", "conv-vae", {"epochs": 10}),
)


# the presets the Lecture labs page shows (views/labs.py)
LAB_PRESETS = ("lecture-002-toy", "lecture-002-toy-sparse", "lecture-002-undercomplete", "lecture-002-overcomplete",
               "lecture-002-sparse", "lecture-003-ae", "lecture-004-denoising")


def reconstruction_mse(model: AutoEncoder, dataset: Dataset, batch_size: int = 1000) -> float:
    """Mean per-pixel squared error of ``model``'s reconstructions of the clean test split."""
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for start in range(0, len(dataset.test), batch_size):
            x = dataset.test.x[start:start + batch_size]
            total += float((model.reconstruct(x) - x).square().sum())
    return total / dataset.test.x.numel()


def build(run: ShippedRun, root: Path = PRETRAINED_DIR) -> float:
    """Train one shipped run, check its bar, save it under ``root``; returns its test MSE."""
    state, dataset, last = _train(preset_config(run.preset, **run.overrides), run.name, device=None, report=True)
    mse = reconstruction_mse(state.model, dataset)
    if run.max_test_mse is not None and mse > run.max_test_mse:
        raise RuntimeError(f"{run.name}: test MSE {mse:.4f} misses its bar of {run.max_test_mse}")
    save_run(state, root / run.name, normalizer=dataset.normalizer, preview=last.preview if last else None,
             with_optimizer=False)
    print(f"{run.name}: test MSE {mse:.4f} -> {root / run.name}", flush=True)
    return mse


def _train(config, label: str, device: str | None = "cpu", report: bool = False
           ) -> tuple[TrainingState, Dataset, Epoch | None]:
    """Train ``config`` to the end (on ``device``; None: the config's); returns the state, data and last epoch."""
    dataset = load_dataset(config.data)
    state = TrainingState.create(config, dataset.input_shape, device, class_names=dataset.class_names)
    last = None
    for event in fit(state, dataset):
        if isinstance(event, Failed):
            raise RuntimeError(f"{label}: {event.message}")
        if isinstance(event, Epoch):
            last = event
            if report:
                print(f"{label} epoch {event.epoch}: val {losses_to_text(event.val)} ({event.seconds:.1f}s)",
                      flush=True)
    return state, dataset, last


def build_lab(preset: str, root: Path = LABS_DIR) -> Path:
    """Train a lab's preset to the end and save it under ``root``/``preset``."""
    state, dataset, last = _train(preset_config(preset), preset)
    path = save_run(state, root / preset, normalizer=dataset.normalizer, preview=last.preview if last else None,
                    with_optimizer=False)
    print(f"lab {preset}: {state.epoch} epochs -> {path}", flush=True)
    return path


def lab_model(preset: str, root: Path = LABS_DIR) -> tuple[AutoEncoder, Dataset]:
    """A lab's trained model (eval mode) and its dataset: the shipped run when it was trained from this
    very preset, else trained now (seconds)."""
    config = preset_config(preset)
    shipped = root / preset
    if (shipped / "config.json").is_file():
        run = load_run(shipped)
        if run.config == config:
            return run.model.eval(), load_dataset(config.data)
    state, dataset, _ = _train(config, preset)
    return state.model.eval(), dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aecore.pretrained", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these runs or lab presets (default: all)")
    parser.add_argument("--out", type=Path, default=PRETRAINED_DIR)
    parser.add_argument("--labs-out", type=Path, default=LABS_DIR)
    args = parser.parse_args(argv)
    known = [run.name for run in SHIPPED_RUNS] + list(LAB_PRESETS)
    unknown = set(args.names) - set(known)
    if unknown:
        parser.error(f"unknown run(s) {sorted(unknown)}; known: {known}")
    for run in SHIPPED_RUNS:
        if not args.names or run.name in args.names:
            build(run, args.out)
    for preset in LAB_PRESETS:
        if not args.names or preset in args.names:
            build_lab(preset, args.labs_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
