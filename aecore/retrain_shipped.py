"""``make checkpoints`` (``python -m aecore.retrain_shipped``): retrain the shipped runs.

Retrains every run of :data:`aecore.shipped.SHIPPED_RUNS` and every lab preset
from its preset, checks the MNIST runs against their bar on the test set and
saves them without optimiser state, so each stays under 5 MB.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aecore.checkpoints import LABS_DIR, PRETRAINED_DIR
from aecore.events import Epoch
from aecore.presets import preset_config
from aecore.scoring import reconstruction_mse
from aecore.shipped import LAB_PRESETS, SHIPPED_RUNS, ShippedRun
from aecore.training import losses_to_text, train_to_end


def _report(label: str):
    def on_epoch(event: Epoch) -> None:
        print(f"{label} epoch {event.epoch}: val {losses_to_text(event.val)} ({event.seconds:.1f}s)", flush=True)
    return on_epoch


def build(run: ShippedRun, root: Path = PRETRAINED_DIR) -> float:
    """Train one shipped run, check its bar, save it under ``root``; returns its test MSE."""
    state, dataset, last = train_to_end(preset_config(run.preset, **run.overrides), on_epoch=_report(run.name))
    mse = reconstruction_mse(state.model, dataset.test)
    if run.max_test_mse is not None and mse > run.max_test_mse:
        raise RuntimeError(f"{run.name}: test MSE {mse:.4f} misses its bar of {run.max_test_mse}")
    state.save(root / run.name, normalizer=dataset.normalizer, preview=last.preview if last else None,
               with_optimizer=False)
    print(f"{run.name}: test MSE {mse:.4f} -> {root / run.name}", flush=True)
    return mse


def build_lab(preset: str, root: Path = LABS_DIR) -> Path:
    """Train a lab's preset to the end and save it under ``root``/``preset``."""
    state, dataset, last = train_to_end(preset_config(preset), device="cpu")
    path = state.save(root / preset, normalizer=dataset.normalizer, preview=last.preview if last else None,
                      with_optimizer=False)
    print(f"lab {preset}: {state.epoch} epochs -> {path}", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aecore.retrain_shipped", description=__doc__.splitlines()[0])
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
