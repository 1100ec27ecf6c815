"""`python -m bench.stream`: image folders bigger than memory, measured.

Generates a labelled folder of 64x64 PNGs (noise and shapes, 10 classes; 100,000 by default) in a
temporary folder, and a folder that fits the memory budget (20,000 of the same files, hard-linked).
Each measurement runs in a fresh process, so that its peak resident memory is its own:

- ``memory``: the fitting folder held in memory (today's path);
- ``streamed``: the same folder streamed (the budget forced to 0): decoded into a uint8 cache, then
  read batch by batch;
- ``streamed-all``: the whole folder streamed, as it must be (its float32 images are over the budget).

Each reports the load time (decoding included), images/s of training (the Your-images page's conv AE
and batch size, through ``fit()``), images/s of the batches alone (one epoch's shuffled order read,
no model), and the process's peak RSS. The four run one after the other, ``--repeats`` rounds (5), each
round with an empty image cache; each figure is the median of its rounds with its spread (bench.stats), and
the streamed / in-memory ratios' samples are the rounds' ratios. The result file is
bench/results/<date>-<time>-<commit>-stream.json unless ``--out`` names another. Figures, never pass/fail.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench.report import markdown_table
from bench.results import write
from bench.stats import REPETITIONS, figure, ratios

ROOT = Path(__file__).resolve().parent.parent
CLASSES = 10
SIDE = 64


def _make_images(job: tuple[str, int, int]) -> int:
    """Write images ``start`` .. ``stop`` - 1 into ``root``/<class>/: noise under a few filled shapes."""
    from PIL import Image, ImageDraw

    root, start, stop = job
    rng = np.random.default_rng(start)
    for number in range(start, stop):
        label = number % CLASSES
        pixels = rng.integers(0, 48, (SIDE, SIDE, 3), dtype=np.uint8) + np.uint8(label * 8)
        image = Image.fromarray(pixels)
        pen = ImageDraw.Draw(image)
        for _ in range(1 + label % 3):
            x0, y0 = rng.integers(0, SIDE - 16, 2)
            box = (int(x0), int(y0), int(x0 + rng.integers(8, 16)), int(y0 + rng.integers(8, 16)))
            colour = tuple(int(c) for c in rng.integers(100, 256, 3))
            (pen.ellipse if label % 2 else pen.rectangle)(box, fill=colour)
        image.save(Path(root) / f"class-{label}" / f"{number:06d}.png", compress_level=1)
    return stop - start


def generate(root: Path, count: int, processes: int = 2) -> float:
    """Write ``count`` images into ``root``; the seconds it took."""
    started = time.perf_counter()
    for label in range(CLASSES):
        (root / f"class-{label}").mkdir(parents=True, exist_ok=True)
    chunk = 1000
    jobs = [(str(root), start, min(count, start + chunk)) for start in range(0, count, chunk)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        for _ in pool.imap_unordered(_make_images, jobs):
            pass
    return time.perf_counter() - started


def link_subset(source: Path, target: Path, count: int) -> None:
    """A folder of the first ``count`` images of ``source``, hard-linked (regular files, no copies)."""
    for label in range(CLASSES):
        (target / f"class-{label}").mkdir(parents=True, exist_ok=True)
    for number in range(count):
        name = f"class-{number % CLASSES}/{number:06d}.png"
        os.link(source / name, target / name)


# ---------------------------------------------------------------------------------------- one measurement


def measure(folder: Path, budget: int | None, steps: int, warmup: int) -> dict:
    """Load ``folder`` (with ``budget``), train the page's conv AE for ``steps`` steps, read one epoch of
    batches; figures and this process's peak RSS."""
    import torch

    from aecore.data import load_dataset
    from aecore.events import Step
    from aecore.training import TrainingState, fit
    from aecore.uploads import folder_run_config

    config = folder_run_config(folder, image_size=SIDE, color="rgb", latent=30, test_fraction=0.2,
                               variational=False, epochs=1)
    started = time.perf_counter()
    dataset = load_dataset(config.data, memory_budget=budget)
    load_s = time.perf_counter() - started
    images = len(dataset.train) + len(dataset.val) + len(dataset.test)
    batch = config.train.batch_size
    order = torch.randperm(len(dataset.train), generator=torch.Generator().manual_seed(0))
    started = time.perf_counter()
    for start in range(0, len(order), batch):
        dataset.train.x[order[start:start + batch]]
    batches_s = time.perf_counter() - started

    state = TrainingState.create(config, dataset.input_shape, "cpu", class_names=dataset.class_names)
    stop, timed_from, steps_seen = threading.Event(), None, 0
    started = time.perf_counter()
    first_step_s = None
    for event in fit(state, dataset, stop=stop):
        if isinstance(event, Step):
            steps_seen += 1
            if first_step_s is None:
                first_step_s = time.perf_counter() - started
            if steps_seen == warmup:
                timed_from = time.perf_counter()
            if steps_seen == warmup + steps:
                train_s = time.perf_counter() - timed_from
                stop.set()
    return {
        "path": "streamed" if dataset.loading.startswith("Streamed") else "memory",
        "images": images,
        "load_s": round(load_s, 2),
        "load_images_per_s": round(images / load_s),
        "first_step_s": round(first_step_s, 2),
        "train_images_per_s": round(steps * batch / train_s, 1),
        "batches_images_per_s": round(len(order) / batches_s),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "torch_threads": torch.get_num_threads(),
    }


def _child(folder: Path, budget: int | None, steps: int, warmup: int, cache: Path) -> dict:
    env = {**os.environ, "AECORE_IMAGE_CACHE": str(cache)}
    command = [sys.executable, "-m", "bench.stream", "--measure", str(folder), "--steps", str(steps),
               "--warmup", str(warmup)] + (["--budget", str(budget)] if budget is not None else [])
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"rc {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


PATHS = ("memory", "streamed", "streamed_cached", "streamed_all")
MEASURES = {"load_s": ("s", "lower"), "first_step_s": ("s", "lower"), "train_images_per_s": ("images/s", "higher"),
            "batches_images_per_s": ("images/s", "higher"), "peak_rss_mb": ("MB", "lower")}


def run(images: int, fits: int, steps: int, warmup: int, keep: Path | None,
        repeats: int = REPETITIONS) -> tuple[dict, dict]:
    """Generate the folders (or reuse ``keep``) and measure the paths, ``repeats`` rounds; (figures, details)."""
    with tempfile.TemporaryDirectory(prefix="aecore-stream-") as scratch:
        base = keep or Path(scratch)
        whole, fitting = base / f"all-{images}", base / f"fits-{fits}"
        details: dict = {"images": images, "fits": fits, "errors": []}
        if not whole.is_dir():
            details["generate_s"] = round(generate(whole, images), 1)
        if not fitting.is_dir():
            link_subset(whole, fitting, fits)
        rounds: list[dict] = []
        for round_number in range(repeats):
            cache = Path(scratch) / f"cache-{round_number}"  # cold in each round
            measured = {"memory": _child(fitting, None, steps, warmup, cache),
                        "streamed": _child(fitting, 0, steps, warmup, cache)}
            measured["streamed_cached"] = _child(fitting, 0, steps, warmup, cache)  # the cache just written
            measured["streamed_all"] = _child(whole, None, steps, warmup, cache)
            details["errors"] += [f"round {round_number + 1} {path}: {m['error']}" for path, m in measured.items()
                                  if "error" in m]
            details.setdefault("paths", {path: m.get("path") for path, m in measured.items()})
            rounds.append(measured)
            shutil.rmtree(cache, ignore_errors=True)  # up to 1.5 GB a round
    return figures_of(rounds), details


def figures_of(rounds: list[dict]) -> dict:
    """The figures (bench.stats) of the rounds' measurements (per round, each path's child output): per path
    each of MEASURES over the rounds it did not fail, and the streamed / in-memory ratios round by round."""
    figures: dict = {}
    for path in PATHS:
        done = [measured[path] for measured in rounds if "error" not in measured[path]]
        if done:
            figures[path] = {key: figure([m[key] for m in done], unit, better)
                             for key, (unit, better) in MEASURES.items()}
    both = [measured for measured in rounds
            if "error" not in measured["memory"] and "error" not in measured["streamed"]]
    for key, name in (("train_images_per_s", "train_ratio"), ("batches_images_per_s", "batches_ratio")):
        if both:
            figures[name] = figure(ratios([m["streamed"][key] for m in both], [m["memory"][key] for m in both]),
                                   "x", "higher")
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stream", description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000, help="images in the folder bigger than memory")
    parser.add_argument("--fits", type=int, default=20_000, help="images in the folder that fits in memory")
    parser.add_argument("--steps", type=int, default=150, help="training steps timed on each path")
    parser.add_argument("--warmup", type=int, default=10, help="training steps before the timing starts")
    parser.add_argument("--keep", type=Path, help="generate the folders here and keep them (reused when present)")
    parser.add_argument("--repeats", type=int, default=REPETITIONS, help=f"rounds (default {REPETITIONS})")
    parser.add_argument("--out", type=Path,
                        help="JSON file to write (default bench/results/<date>-<time>-<commit>-stream.json)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child: one measurement
    parser.add_argument("--budget", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.budget, args.steps, args.warmup)))
        return 0
    figures, details = run(args.images, args.fits, args.steps, args.warmup, args.keep, args.repeats)
    arguments = {"images": args.images, "fits": args.fits, "steps": args.steps, "warmup": args.warmup,
                 "repeats": args.repeats}
    doc, out = write("stream", figures, details, arguments, args.out)
    print(markdown_table(doc))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
