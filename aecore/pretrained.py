"""The pretrained MNIST runs shipped in checkpoints/pretrained, and the one command that rebuilds them.

``make checkpoints`` (``python -m aecore.pretrained``) retrains every run from
its preset, checks it against its bar on the MNIST test set and saves it
without optimiser state, so each stays under 5 MB.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from aecore.checkpoints import PRETRAINED_DIR, save_run
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
    config = preset_config(run.preset, **run.overrides)
    dataset = load_dataset(config.data)
    state = TrainingState.create(config, dataset.input_shape, class_names=dataset.class_names)
    last = None
    for event in fit(state, dataset):
        if isinstance(event, Failed):
            raise RuntimeError(f"{run.name}: {event.message}")
        if isinstance(event, Epoch):
            last = event
            print(f"{run.name} epoch {event.epoch}: val {losses_to_text(event.val)} ({event.seconds:.1f}s)",
                  flush=True)
    mse = reconstruction_mse(state.model, dataset)
    if run.max_test_mse is not None and mse > run.max_test_mse:
        raise RuntimeError(f"{run.name}: test MSE {mse:.4f} misses its bar of {run.max_test_mse}")
    save_run(state, root / run.name, normalizer=dataset.normalizer, preview=last.preview if last else None,
             with_optimizer=False)
    print(f"{run.name}: test MSE {mse:.4f} -> {root / run.name}", flush=True)
    return mse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aecore.pretrained", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these runs (default: all)")
    parser.add_argument("--out", type=Path, default=PRETRAINED_DIR)
    args = parser.parse_args(argv)
    unknown = set(args.names) - {run.name for run in SHIPPED_RUNS}
    if unknown:
        parser.error(f"unknown run(s) {sorted(unknown)}; known: {[run.name for run in SHIPPED_RUNS]}")
    for run in SHIPPED_RUNS:
        if not args.names or run.name in args.names:
            build(run, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
