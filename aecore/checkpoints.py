"""Save and load runs. A run is a folder:

    model.safetensors      the model's weights (and a standardising normaliser's mean/std)
    optimizer.safetensors  the optimiser's state, so training can resume (optional)
    config.json            format, input shape, class names and the RunConfig
    history.json           epoch records (epoch, step, seconds, train / val loss parts), thinned to at
                           most MAX_HISTORY_RECORDS evenly spread ones, always with the last
    preview.png            train and test images over their reconstructions (optional)

Loading rebuilds the model from config.json alone and refuses, with one
message naming the file, anything missing, corrupt or mismatched. Only
safetensors and JSON are read: nothing is ever unpickled. Every file is
written to a temporary name and renamed, so a crash never leaves half a file.

This module reads and writes files and knows nothing of optimisers or training:
:meth:`aecore.training.TrainingState.save` and ``TrainingState.from_run`` turn
a training state into a run folder and back.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from aecore.config import RunConfig
from aecore.data import Normalizer
from aecore.errors import AecoreError, CheckpointError
from aecore.models import AutoEncoder, build_model

FORMAT = "aecore-run/2"  # /2: history.json is thinned and compact; /1 (one record per epoch) still loads
READABLE_FORMATS = ("aecore-run/1", FORMAT)
MAX_HISTORY_RECORDS = 200
MODEL_FILE, OPTIMIZER_FILE = "model.safetensors", "optimizer.safetensors"
CONFIG_FILE, HISTORY_FILE, PREVIEW_FILE = "config.json", "history.json", "preview.png"
NORMALIZER_PREFIX = "_normalizer."

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRETRAINED_DIR = PROJECT_ROOT / "checkpoints" / "pretrained"  # shipped with the project
LABS_DIR = PROJECT_ROOT / "checkpoints" / "labs"  # the lecture labs' runs, shipped so a first click is instant
# written by users, git-ignored; AECORE_RUNS_DIR moves it (tests, shared servers)
USER_RUNS_DIR = Path(os.environ.get("AECORE_RUNS_DIR", PROJECT_ROOT / "checkpoints" / "runs"))


@dataclass
class LoadedRun:
    """A run read back from its folder; ``model`` is in eval mode on the CPU unless moved."""

    path: Path
    config: RunConfig
    model: AutoEncoder
    history: list[dict]
    class_names: tuple[str, ...]
    normalizer: Normalizer = field(default_factory=Normalizer)
    optimizer_state: dict | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def epochs(self) -> int:
        """Epochs trained (the history may be thinned: its last record holds the count)."""
        return int(self.history[-1].get("epoch", len(self.history))) if self.history else 0

    @property
    def steps(self) -> int:
        """Optimiser steps taken."""
        return int(self.history[-1]["step"]) if self.history else 0


# ---------------------------------------------------------------------------------------- writing


def _atomic_write(path: Path, write) -> None:
    """Call ``write(temporary_path)``, then rename the result onto ``path``."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; run folders are shipped and shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_json(path: Path, payload, *, indent: int | None = 2) -> None:
    separators = None if indent else (",", ":")
    _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(payload, indent=indent, separators=separators) + "\n"))


def thin_history(history: list[dict], max_records: int = MAX_HISTORY_RECORDS) -> list[dict]:
    """At most ``max_records`` evenly spread epoch records, always the first and the last.

    A 5,000-epoch toy run keeps a loss curve of the same shape in a file a hundredth the size.
    """
    if len(history) <= max_records:
        return list(history)
    keep = sorted({round(i * (len(history) - 1) / (max_records - 1)) for i in range(max_records)})
    return [history[i] for i in keep]


def save_run(folder: str | Path, *, config: RunConfig, model: AutoEncoder, history: list[dict],
             class_names: tuple[str, ...] = (), optimizer_state: dict | None = None,
             normalizer: Normalizer | None = None, preview: Image.Image | None = None) -> Path:
    """Write a run folder (created if needed) and return its path.

    ``optimizer_state`` is an optimiser's ``state_dict()``; without it the optimiser file is removed
    (the run still loads and trains on, with a fresh optimiser). ``preview`` is saved as preview.png.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: value.detach().cpu().contiguous() for name, value in model.state_dict().items()}
    if normalizer is not None and normalizer.mean is not None:
        tensors[NORMALIZER_PREFIX + "mean"] = normalizer.mean.cpu().contiguous()
        tensors[NORMALIZER_PREFIX + "std"] = normalizer.std.cpu().contiguous()
    _atomic_write(folder / MODEL_FILE, lambda tmp: save_file(tensors, str(tmp)))
    if optimizer_state is not None:
        optimizer_tensors, optimizer_meta = _flatten_optimizer_state(optimizer_state)
        metadata = {"state": json.dumps(optimizer_meta)}
        _atomic_write(folder / OPTIMIZER_FILE, lambda tmp: save_file(optimizer_tensors, str(tmp), metadata=metadata))
    else:
        (folder / OPTIMIZER_FILE).unlink(missing_ok=True)
    _write_json(folder / CONFIG_FILE, {
        "format": FORMAT,
        "input_shape": list(model.input_shape),
        "class_names": list(class_names),
        "run": config.to_dict(),
    })
    _write_json(folder / HISTORY_FILE, thin_history(history), indent=None)
    if preview is not None:
        _atomic_write(folder / PREVIEW_FILE, lambda tmp: preview.save(tmp, format="PNG"))
    return folder


def _flatten_optimizer_state(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimiser state_dict into tensors (for safetensors) and the JSON-able rest."""
    tensors, scalars = {}, {}
    for param_id, values in state_dict["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{param_id}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{param_id}.{key}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _unflatten_optimizer_state(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for flat_key, value in [*tensors.items(), *meta.get("scalars", {}).items()]:
        param_id, key = flat_key.split(".", 1)
        state.setdefault(int(param_id), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


# ---------------------------------------------------------------------------------------- reading


def _read_json(path: Path):
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: not a complete run folder")
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc})") from None


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: not a complete run folder")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        return load_file(str(path)), metadata
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a safetensors file ({exc})") from None


def read_run_config(folder: str | Path) -> tuple[RunConfig, tuple[int, int, int], tuple[str, ...]]:
    """The config, input shape and class names of a run folder, without loading weights."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder} is not a run folder (it does not exist or is a file)")
    path = folder / CONFIG_FILE
    raw = _read_json(path)
    if not isinstance(raw, dict) or raw.get("format") not in READABLE_FORMATS:
        raise CheckpointError(f"{path} is not an aecore run config (expected format {FORMAT!r})")
    try:
        config = RunConfig.from_dict(raw["run"])
        input_shape = tuple(int(v) for v in raw["input_shape"])
        class_names = tuple(str(c) for c in raw.get("class_names", ()))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a valid run config: {exc}") from None
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise CheckpointError(f"{path}: input_shape must be [C, H, W] of positive sizes; got {list(input_shape)}")
    return config, input_shape, class_names


def load_run(folder: str | Path, device: torch.device | str = "cpu") -> LoadedRun:
    """Rebuild a run's model from its config.json and load its weights, refusing any mismatch."""
    folder = Path(folder)
    config, input_shape, class_names = read_run_config(folder)
    try:
        model = build_model(config.model, input_shape)
    except (AecoreError, RuntimeError) as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE} describes a model that cannot be built: {exc}") from None
    weights_path = folder / MODEL_FILE
    tensors, _ = _read_safetensors(weights_path)
    normalizer = Normalizer()
    if NORMALIZER_PREFIX + "mean" in tensors:
        normalizer = Normalizer(tensors.pop(NORMALIZER_PREFIX + "mean"), tensors.pop(NORMALIZER_PREFIX + "std"))
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise CheckpointError(f"{weights_path} does not match {CONFIG_FILE}: {detail}")
    for name, tensor in tensors.items():
        if tensor.shape != expected[name].shape:
            raise CheckpointError(f"{weights_path} does not match {CONFIG_FILE}: {name} has shape "
                                  f"{list(tensor.shape)}, the config's model needs {list(expected[name].shape)}")
    model.load_state_dict(tensors)
    history = _read_json(folder / HISTORY_FILE)
    if not isinstance(history, list) or not all(
            isinstance(record, dict) and isinstance(record.get("step"), int) for record in history):
        raise CheckpointError(f"{folder / HISTORY_FILE} must hold a list of epoch records with a step count")
    optimizer_state = None
    if (folder / OPTIMIZER_FILE).is_file():
        optimizer_tensors, metadata = _read_safetensors(folder / OPTIMIZER_FILE)
        try:
            optimizer_state = _unflatten_optimizer_state(optimizer_tensors, json.loads(metadata["state"]))
        except (KeyError, ValueError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{folder / OPTIMIZER_FILE} has no readable optimiser state ({exc})") from None
    return LoadedRun(folder, config, model.to(device).eval(), history, class_names, normalizer, optimizer_state)


def list_runs(*roots: str | Path) -> list[Path]:
    """Run folders (those holding a config.json) directly under ``roots``; default: shipped and user runs."""
    roots = roots or (PRETRAINED_DIR, USER_RUNS_DIR)
    found = []
    for root in map(Path, roots):
        if root.is_dir():
            found += sorted(p for p in root.iterdir() if (p / CONFIG_FILE).is_file())
    return found


def resolve_run(name_or_path: str | Path) -> Path:
    """A run folder from a path, or from a run name looked up among shipped and user runs."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    for run in list_runs():
        if run.name == str(name_or_path):
            return run
    raise CheckpointError(f"{name_or_path} is not a run folder or the name of a saved run "
                          f"(see `python -m aecore checkpoints`)")
