"""``python -m aecore``: train, evaluate, export and inspect autoencoders from a terminal.

Bad input (an unknown preset, latent 0, an unreadable run folder, ...) gets a
one-line message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from aecore import projection_cache
from aecore.checkpoints import USER_RUNS_DIR, list_runs, load_run, read_run_config, resolve_run
from aecore.config import RunConfig
from aecore.data import FOLDER_PREFIX, expected_input_shape, list_datasets, load_dataset
from aecore.describe import counted
from aecore.errors import AecoreError
from aecore.events import CheckpointSaved, Epoch, Failed, Finished, Started, Step
from aecore.jobs import pool_from_environment
from aecore.latent import class_name, write_latent_csv
from aecore.latent_map import SPLITS, MapPoints, encode_map_points
from aecore.layer_table import layer_table, parse_shape
from aecore.objectives import Objective
from aecore.presets import get_preset, list_presets, preset_config
from aecore.projection import METHODS, Frame, project
from aecore.projection_cache import ProjectionKey
from aecore.settings import BY_NAME as SETTINGS_BY_NAME
from aecore.settings import SETTINGS, Setting
from aecore.sweep import Sweep, SweepSpec, results_table, sweep_in
from aecore.training import TrainingState, evaluate, fit, losses_to_text, resolve_device

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m aecore", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a preset and save the run")
    train.add_argument("--preset", default="ae", help="a preset name (see `presets`); default ae")
    train.add_argument("--resume", metavar="RUN", help="continue a saved run (folder or name) instead")
    knobs = train.add_argument_group("settings (each overrides the preset's value)")
    for setting in SETTINGS:
        knobs.add_argument(setting.flag, dest=setting.name, metavar=_metavar(setting), help=setting.help)
    train.add_argument("--out", type=Path, help="run folder to write (default checkpoints/runs/NAME-TIME)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    sweep = commands.add_parser("sweep", help="train a grid of runs over one or two settings, e.g. "
                                              "--latent 2,8,32 --noise 0,0.3,0.5")
    sweep.add_argument("--preset", default="ae", help="a preset name (see `presets`); default ae")
    grid = sweep.add_argument_group("settings: a list (2,8,32) varies it; one value sets it for every run "
                                    "(class subsets: 1,5,6;0,1)")
    for setting in SETTINGS:
        grid.add_argument(setting.flag, dest=setting.name, metavar="VALUES", help=setting.help)
    stopping = sweep.add_mutually_exclusive_group()
    stopping.add_argument("--early-stopping", dest="early_stopping", action="store_true", default=None,
                          help="stop hopeless runs early (successive halving); default: on from 6 runs")
    stopping.add_argument("--no-early-stopping", dest="early_stopping", action="store_false")
    sweep.add_argument("--csv", type=Path, help="also write the results table to this CSV file")
    sweep.add_argument("--quiet", action="store_true", help="no progress bars")

    evaluate = commands.add_parser("eval", help="print a run's losses on its test split")
    evaluate.add_argument("run", help="run folder or name")
    evaluate.add_argument("--split", choices=("train", "val", "test"), default="test")

    export = commands.add_parser("export", help="write a run's codes as CSV, with 2-D map coordinates")
    export.add_argument("run", help="run folder or name")
    export.add_argument("--csv", type=Path, required=True, help="the CSV file to write")
    export.add_argument("--split", choices=("test", "train", "all"), default="test",
                        help="the images: the test split (default), the training split, or all of them (test, "
                             "training and validation, with a split column)")
    export.add_argument("--projection", choices=("pca", "tsne", "umap"), action="append",
                        help="add 2-D map coordinates (repeatable); default pca. t-SNE and UMAP maps are shared "
                             "with the dashboard through the projection cache")
    export.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity (default 30)")
    export.add_argument("--quiet", action="store_true", help="no progress bar")

    commands.add_parser("presets", help="list the presets")
    commands.add_parser("datasets", help="list the datasets")
    commands.add_parser("checkpoints", help="list shipped and saved runs")

    layers = commands.add_parser("layers", help="print the layer table of a preset or run")
    source = layers.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset")
    source.add_argument("--run")
    layers.add_argument("--input", help="input shape CxHxW, e.g. 3x224x224 (default: the dataset's)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"train": cmd_train, "sweep": cmd_sweep, "eval": cmd_eval, "export": cmd_export, "presets": cmd_presets,
                "datasets": cmd_datasets, "checkpoints": cmd_checkpoints, "layers": cmd_layers}
    try:
        return handlers[args.command](args)
    except AecoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# ---------------------------------------------------------------------------------------- train


def _metavar(setting: Setting) -> str:
    if setting.choices and setting.strict:
        return "{" + ",".join(setting.format(choice) for choice in setting.choices) + "}"
    kind = {int: "INT", float: "NUMBER", str: "TEXT", tuple: "LIST"}[setting.kind]
    return f"{kind}|{setting.none_text}" if setting.none_text else kind


def _overrides(args: argparse.Namespace) -> dict:
    """The settings given as flags, parsed (a ConfigError of one line for garbage); None for the others."""
    return {setting.name: None if getattr(args, setting.name) is None else setting.parse(getattr(args, setting.name))
            for setting in SETTINGS}


def train_config(args: argparse.Namespace) -> RunConfig:
    """The RunConfig that ``train``'s --preset and setting flags describe (a one-line error for bad values)."""
    return preset_config(args.preset, **_overrides(args))


def default_run_folder(preset: str, dataset: str) -> Path:
    """checkpoints/runs/<preset>-<dataset>-<YYYYmmdd-HHMMSS>."""
    dataset_slug = re.sub(r"[^A-Za-z0-9]+", "-", Path(dataset.removeprefix("folder:")).name or dataset).strip("-")
    return USER_RUNS_DIR / f"{preset}-{dataset_slug}-{time.strftime('%Y%m%d-%H%M%S')}"


def cmd_train(args: argparse.Namespace) -> int:
    if args.resume:
        overrides = _overrides(args)  # only --device and --epochs act on a resumed run
        run = load_run(resolve_run(args.resume))
        config = run.config
        device = resolve_device(overrides["device"] or config.train.device)
        state = TrainingState.from_run(run, device)
        target = overrides["epochs"] or state.epoch + config.train.epochs
        out = args.out or run.path
    else:
        config = train_config(args)
        device = resolve_device(config.train.device)
        state, target = None, config.train.epochs
        out = args.out or default_run_folder(args.preset, config.data.name)
    dataset = load_dataset(config.data, device)
    for path, reason in dataset.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if state is None:
        state = TrainingState.create(config, dataset.input_shape, device, class_names=dataset.class_names)
    return _run_fit(state, dataset, target, out, quiet=args.quiet)


def _run_fit(state, dataset, epochs: int, out: Path, *, quiet: bool) -> int:
    bar = None
    for event in fit(state, dataset, epochs=epochs, save_to=out):
        if isinstance(event, Started):
            print(f"training {event.config.preset or 'run'} on {dataset.name}: {event.n_train} images, "
                  f"epochs {event.start_epoch + 1}-{event.epochs}, {event.device_name}")
            if event.layerwise_losses:
                print("greedy layer-wise pre-training, MSE per layer pair: "
                      + ", ".join(f"{loss:.4g}" for loss in event.layerwise_losses))
            total = (event.epochs - event.start_epoch) * event.steps_per_epoch
            bar = tqdm(total=total, unit="step", disable=quiet, dynamic_ncols=True, file=sys.stderr)
        elif isinstance(event, Step):
            bar.update(1)
            if event.batch % 20 == 1:
                bar.set_description(f"epoch {event.epoch}")
                bar.set_postfix_str(f"loss {event.losses['total']:.4g}")
        elif isinstance(event, Epoch):
            val = f" | val {losses_to_text(event.val)}" if event.val else ""
            bar.write(f"epoch {event.epoch}: train {losses_to_text(event.train)}{val} ({event.seconds:.1f}s)")
        elif isinstance(event, CheckpointSaved):
            if bar:
                bar.close()
            print(f"saved run to {event.path}")
        elif isinstance(event, Failed):
            if bar:
                bar.close()
            print(f"error: {event.message}", file=sys.stderr)
            return 1
        elif isinstance(event, Finished):
            if bar:
                bar.close()
            val = f"; validation {losses_to_text(event.val)}" if event.val else ""
            print(f"finished {counted(event.epoch, 'epoch')} in {event.seconds:.1f}s: "
                  f"train {losses_to_text(event.train)}{val}")
    return 0


# ---------------------------------------------------------------------------------------- sweep


def sweep_spec(args: argparse.Namespace) -> SweepSpec:
    """The grid the ``sweep`` flags describe: flags with several values are its axes, the others fixed."""
    given = {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name) is not None}
    if "," in given.get("epochs", ""):
        raise AecoreError("epochs is set for the whole sweep (--epochs N), not varied")
    separator = {s.name: (";" if s.kind is tuple else ",") for s in SETTINGS}
    axes = {name: text for name, text in given.items() if separator[name] in text}
    base = {name: SETTINGS_BY_NAME[name].parse(text) for name, text in given.items()
            if name not in axes and name != "epochs"}
    epochs = int(given["epochs"]) if "epochs" in given else preset_config(args.preset).train.epochs
    return SweepSpec.parse(args.preset, axes, epochs, **base)


def cmd_sweep(args: argparse.Namespace) -> int:
    spec = sweep_spec(args)
    pool = pool_from_environment()
    sweep = sweep_in(pool, spec, early_stopping=args.early_stopping)
    runs = len(spec.combinations())
    print(f"sweep of {counted(runs, 'run')} of {spec.preset}, {counted(spec.epochs, 'epoch')} each"
          + (", stopping hopeless runs early" if sweep.early_stopping else ""))
    bars = [tqdm(total=spec.epochs, desc=result.name, position=i, disable=args.quiet, leave=True,
                 bar_format="{desc} {percentage:3.0f}%|{bar}| {postfix}", file=sys.stderr)
            for i, result in enumerate(sweep.results())]
    sweep.start()
    try:
        while not sweep.wait(timeout=0.3):
            _update_bars(bars, sweep)
    except KeyboardInterrupt:
        sweep.stop()
        sweep.wait(timeout=60)
    finally:
        _update_bars(bars, sweep)
        for bar in bars:
            bar.close()
        pool.shutdown()
    rows = results_table(sweep.results())
    print(_table(rows))
    if args.csv:
        with args.csv.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {args.csv}")
    return 0


def _update_bars(bars, sweep: Sweep) -> None:
    for bar, result in zip(bars, sweep.results(), strict=True):
        done = result.step_losses[-1][0] if result.step_losses and result.status == "training" else result.epoch
        bar.n = round(min(done, bar.total), 2)
        loss = f"val {result.val_loss:.4g} " if result.val_loss is not None else ""
        bar.set_postfix_str(f"{loss}{result.status}", refresh=True)


def _table(rows: list[dict]) -> str:
    columns = [name for name in rows[0] if name != "note"]
    cells = [[_cell(row[name]) for name in columns] for row in rows]
    widths = [max(len(name), *(len(line[i]) for line in cells)) for i, name in enumerate(columns)]
    lines = ["  ".join(name.ljust(width) for name, width in zip(columns, widths, strict=True))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]
    notes = [f"{row['run'] or '-'}: {row['note']}" for row in rows if row["note"]]
    return "\n".join(lines + notes)


def _cell(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else "-" if value is None else str(value)


# ---------------------------------------------------------------------------------------- runs


def _load(run_name: str):
    run = load_run(resolve_run(run_name))
    return run, load_dataset(run.config.data)


def cmd_eval(args: argparse.Namespace) -> int:
    run, dataset = _load(args.run)
    split = getattr(dataset, args.split)
    losses = evaluate(run.model, Objective(run.config.objective, dataset.value_range), split)
    print(f"{run.name} on {dataset.name} {args.split} ({len(split)} images): {losses_to_text(losses)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    folder = resolve_run(args.run)
    run = load_run(folder)
    points = encode_map_points(run.model, load_dataset(run.config.data), args.split)
    methods = list(dict.fromkeys(args.projection or ["pca"]))
    projections = {method: _map_points(folder, points, method, args) for method in methods}
    if args.split == "all":
        path = _write_points_csv(args.csv, points, run.class_names, projections)
    else:
        path = write_latent_csv(args.csv, points.codes, points.labels, run.class_names, projections)
    print(f"wrote {len(points)} rows ({args.split}) of {points.codes.shape[1]}-d codes and {', '.join(methods)} "
          f"coordinates to {path}")
    return 0


def _map_points(folder: Path, points: MapPoints, method: str, args: argparse.Namespace):
    """The ``method`` map (N, 2) of ``points``: t-SNE and UMAP from the projection cache the dashboard shares,
    or computed here (with a progress bar) and stored there."""
    if method == "pca":
        return project(points.codes, method).points
    key = ProjectionKey.of(folder, method, points.selection, len(points), perplexity=args.perplexity)
    cached = projection_cache.load(key)
    if cached is not None:
        print(f"{METHODS[method]} map from the cache ({projection_cache.path_of(key)})")
        return cached
    bar = tqdm(desc=METHODS[method], unit="it" if method == "tsne" else "epoch", disable=args.quiet,
               dynamic_ncols=True, file=sys.stderr)

    def progress(frame: Frame) -> None:
        bar.total, bar.n = frame.total, frame.done
        bar.set_postfix_str("finding neighbours" if frame.stage == "neighbours" else "layout", refresh=True)

    try:
        mapped = project(points.codes, method, perplexity=args.perplexity, progress=progress,
                         threads=os.cpu_count() or 1).points
    finally:
        bar.close()
    mapped = mapped.astype(np.float32)  # as stored: the next export, from the cache, writes the same numbers
    projection_cache.save(key, mapped)
    return mapped


def _write_points_csv(path: Path, points: MapPoints, class_names: tuple[str, ...],
                      projections: dict[str, np.ndarray]) -> Path:
    """The columns of :func:`aecore.latent.write_latent_csv` with ``split`` after ``index`` (the row in that
    split)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "split", "label", "class", *(f"z{j}" for j in range(points.codes.shape[1])),
                         *(f"{name}_{axis}" for name in projections for axis in ("x", "y"))])
        for row, (code, label) in enumerate(zip(points.codes, points.labels.tolist(), strict=True)):
            extra = [f"{value:.6g}" for mapped in projections.values() for value in mapped[row]]
            writer.writerow([int(points.indices[row]), SPLITS[points.splits[row]], label,
                             class_name(class_names, label), *(f"{value:.6g}" for value in code), *extra])
    return path


# ---------------------------------------------------------------------------------------- listings


def cmd_presets(args: argparse.Namespace) -> int:
    for preset in list_presets():
        print(f"{preset.name:<28} {preset.summary}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    for info in list_datasets():
        print(f"{info.name:<16} {info.description}")
    print(f"{FOLDER_PREFIX + 'PATH':<16} your labelled images: PATH/<class>/<image files>")
    return 0


def cmd_checkpoints(args: argparse.Namespace) -> int:
    runs = list_runs()
    if not runs:
        print("no runs yet: `python -m aecore train --preset ae` makes one")
    for path in runs:
        try:
            config, shape, _ = read_run_config(path)
            detail = f"{config.preset or config.model.arch}, latent {config.model.latent_dim}, {config.data.name}"
        except AecoreError as exc:
            detail = f"unreadable: {exc}"
        print(f"{path.name:<28} {detail:<44} {path}")
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    if args.run:
        config, input_shape, _ = read_run_config(resolve_run(args.run))
    else:
        config, input_shape = get_preset(args.preset).config, None
    if args.input:
        try:
            input_shape = parse_shape(args.input)
        except ValueError as exc:
            raise AecoreError(str(exc)) from None
    if input_shape is None:
        input_shape = expected_input_shape(config.data)
    if input_shape is None:
        raise AecoreError("this preset has no fixed input size: pass --input CxHxW, e.g. 3x128x128")
    print(layer_table(config.model, input_shape).to_text())
    return 0

