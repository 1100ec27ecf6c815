"""Save and load runs. A run is a folder:

    model.safetensors      the model's weights (and a standardising normaliser's mean/std)
    optimizer.safetensors  the optimiser's state, so training can resume (optional)
    config.json            format, input shape, class names and the RunConfig
    history.json           epoch records (epoch, step, seconds, train / val loss parts), thinned to at
                           most MAX_HISTORY_RECORDS evenly spread ones, always with the last
    preview.png            train and test images over their reconstructions (optional)
    progress.json          where a run stopped inside an epoch: batches done, the epoch's loss sums, the
                           random generators' states and the seconds trained (optional; see
                           :class:`aecore.training.TrainingState`), so a resume continues at that exact step

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
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from aecore.config import RunConfig
from aecore.data import Normalizer, safe_name
from aecore.errors import AecoreError, CheckpointError
from aecore.limits import (
    MAX_INPUT_VALUES,
    MAX_MODEL_PARAMETERS,
    MAX_RUN_JSON_BYTES,
    MAX_SAFETENSORS_HEADER_BYTES,
)
from aecore.models import AutoEncoder, build_model
from aecore.paths import default_runs_dir, shipped_runs_dir

FORMAT = "aecore-run/2"  # /2: history.json is thinned and compact; /1 (one record per epoch) still loads
READABLE_FORMATS = ("aecore-run/1", FORMAT)
MAX_HISTORY_RECORDS = 200
MODEL_FILE, OPTIMIZER_FILE = "model.safetensors", "optimizer.safetensors"
CONFIG_FILE, HISTORY_FILE, PREVIEW_FILE = "config.json", "history.json", "preview.png"
PROGRESS_FILE = "progress.json"
NORMALIZER_PREFIX = "_normalizer."

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRETRAINED_DIR = shipped_runs_dir() / "pretrained"  # shipped with the project
LABS_DIR = shipped_runs_dir() / "labs"  # the lecture labs' runs, shipped so a first click is instant
# written by users: checkpoints/runs (git-ignored) in a checkout, the user's data folder once installed (never
# site-packages); AECORE_RUNS_DIR moves it (tests, shared servers), --data-dir too (aecore/paths.py)
USER_RUNS_DIR = Path(os.environ.get("AECORE_RUNS_DIR") or default_runs_dir())


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
    progress: dict | None = None  # progress.json: where the run stopped inside an epoch

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
             normalizer: Normalizer | None = None, preview: Image.Image | None = None,
             progress: dict | None = None) -> Path:
    """Write a run folder (created if needed) and return its path.

    ``optimizer_state`` is an optimiser's ``state_dict()``; without it the optimiser file is removed
    (the run still loads and trains on, with a fresh optimiser). ``preview`` is saved as preview.png.
    ``progress`` (JSON-able) is saved as progress.json, or the file removed when None.
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
    if progress is not None:
        _write_json(folder / PROGRESS_FILE, progress, indent=None)
    else:
        (folder / PROGRESS_FILE).unlink(missing_ok=True)
    return folder


def replace_run_folder(staged: Path, target: Path) -> None:
    """Put the complete run folder ``staged`` in the place of ``target`` (its sibling), never leaving a half-written
    run there: the old folder is renamed aside, the new one renamed in, then the old one deleted. A crash between
    the two renames leaves the old folder at ``<target>.old``, where :func:`recovered_run_folder` finds it."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)


def recovered_run_folder(target: Path) -> Path | None:
    """The last complete folder :func:`replace_run_folder` put at ``target``: ``target`` itself, or the previous
    one a crash left at ``<target>.old``; None when there is neither."""
    for folder in (target, target.with_name(target.name + ".old")):
        if (folder / MODEL_FILE).is_file() and (folder / CONFIG_FILE).is_file():
            return folder
    return None


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
    if path.stat().st_size > MAX_RUN_JSON_BYTES:
        raise CheckpointError(f"{path} is {path.stat().st_size:,} bytes; a run's JSON files are at most "
                              f"{MAX_RUN_JSON_BYTES:,}")
    try:
        return json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({_one_line(exc)})") from None


def _one_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


# safetensors dtype names -> torch dtypes (https://github.com/huggingface/safetensors, "Format")
SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}
_DTYPE_NAMES = {dtype: name for name, dtype in SAFETENSORS_DTYPES.items()}


@dataclass(frozen=True)
class TensorSpec:
    """What a safetensors header (or a model's config) says one tensor is: its dtype and shape."""

    dtype: torch.dtype
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def __str__(self) -> str:
        return f"{_DTYPE_NAMES.get(self.dtype, self.dtype)} {list(self.shape)}"


def read_safetensors_header(path: Path) -> tuple[dict[str, TensorSpec], dict[str, str]]:
    """The tensors a .safetensors file declares and its metadata, from its header alone.

    The format: an 8-byte little-endian header length N, N bytes of JSON
    ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}``, then the data.
    Refuses, naming the file, a header longer than MAX_SAFETENSORS_HEADER_BYTES or than the file, and
    offsets that do not tile the data exactly with each tensor's shape x dtype size. No tensor is read.
    """
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: not a complete run folder")
    size = path.stat().st_size
    with path.open("rb") as handle:
        prefix = handle.read(8)
        length = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
        if length < 2 or length > min(MAX_SAFETENSORS_HEADER_BYTES, size - 8):
            raise CheckpointError(f"{path} is not a safetensors file (its header length {length:,} does not fit "
                                  f"a file of {size:,} bytes)")
        raw = handle.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{path} is not a safetensors file (its header is not JSON: {_one_line(exc)})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a safetensors file (its header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{path} is not a safetensors file (its __metadata__ is not a map of strings)")
    specs, spans = {}, []
    for name, entry in header.items():
        spec, span = _header_entry(entry)
        if spec is None or span[1] - span[0] != spec.nbytes:
            raise CheckpointError(f"{path} is not a valid safetensors file: the entry for {name!r} does not give a "
                                  "known dtype, a shape and data offsets spanning shape x dtype size bytes")
        specs[name] = spec
        spans.append(span)
    end = 0
    for begin, stop in sorted(spans):
        if begin != end:
            raise CheckpointError(f"{path} is not a valid safetensors file: its tensors overlap or leave gaps")
        end = stop
    if 8 + length + end != size:
        raise CheckpointError(f"{path} is {size:,} bytes but its header describes {8 + length + end:,}: "
                              "it is truncated or has bytes appended")
    return specs, metadata


def _header_entry(entry) -> tuple[TensorSpec | None, tuple[int, int]]:
    """(spec, (begin, end)) of one header entry; (None, (0, 0)) when it is malformed."""
    if not isinstance(entry, dict):
        return None, (0, 0)
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    integers = lambda values, n=None: (isinstance(values, list) and (n is None or len(values) == n)  # noqa: E731
                                       and all(type(v) is int and v >= 0 for v in values))
    if dtype not in SAFETENSORS_DTYPES or not integers(shape) or not integers(offsets, 2) or offsets[0] > offsets[1]:
        return None, (0, 0)
    return TensorSpec(SAFETENSORS_DTYPES[dtype], tuple(shape)), (offsets[0], offsets[1])


def _match_header(path: Path, declared: dict[str, TensorSpec], expected: dict[str, TensorSpec]) -> None:
    """Refuse a weights file whose tensors are not exactly those ``expected`` (names, dtypes and shapes)."""
    missing, unexpected = sorted(set(expected) - set(declared)), sorted(set(declared) - set(expected))
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise CheckpointError(f"{path} does not match {CONFIG_FILE}: {detail}")
    for name, spec in declared.items():
        if spec.shape != expected[name].shape:
            raise CheckpointError(f"{path} does not match {CONFIG_FILE}: {name} has shape {list(spec.shape)}, "
                                  f"the config's model needs {list(expected[name].shape)}")
        if spec.dtype != expected[name].dtype:
            raise CheckpointError(f"{path} does not match {CONFIG_FILE}: {name} is {spec}, the config's model "
                                  f"needs {expected[name]}")


def _match_optimizer_header(path: Path, declared: dict[str, TensorSpec], parameters: list[TensorSpec]) -> None:
    """Refuse optimiser state that is not per-parameter tensors ("<parameter index>.<name>") of its
    parameter's shape or scalars, or that adds up to more than a few copies of the weights."""
    for name, spec in declared.items():
        index, _, _ = name.partition(".")
        if not index.isdigit() or int(index) >= len(parameters) or (
                spec.shape != parameters[int(index)].shape and math.prod(spec.shape) > 1):
            raise CheckpointError(f"{path} does not match {CONFIG_FILE}: {name} ({spec}) is not state of one of "
                                  f"the model's {len(parameters)} parameters")
    weights = sum(spec.nbytes for spec in parameters)
    if sum(spec.nbytes for spec in declared.values()) > 3 * weights + 2**20:
        raise CheckpointError(f"{path} holds more optimiser state than three copies of the model's weights")


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file whose header has been checked."""
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path} is not a safetensors file ({_one_line(exc)})") from None


def read_run_config(folder: str | Path) -> tuple[RunConfig, tuple[int, int, int], tuple[str, ...]]:
    """The config, input shape and class names of a run folder, without loading weights.

    Class names are made safe to show (:func:`aecore.data.safe_name`); an input larger than
    MAX_INPUT_VALUES values is refused.
    """
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
        class_names = tuple(safe_name(str(c), path_part=False) for c in raw.get("class_names", ()))
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise CheckpointError(f"{path} is not a valid run config: {_one_line(exc)}") from None
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise CheckpointError(f"{path}: input_shape must be [C, H, W] of positive sizes; got {list(input_shape)}")
    if math.prod(input_shape) > MAX_INPUT_VALUES:
        raise CheckpointError(f"{path}: input_shape {list(input_shape)} has more than the {MAX_INPUT_VALUES:,} "
                              "values a run may take")
    return config, input_shape, class_names


def _expected_tensors(folder: Path, config: RunConfig, input_shape: tuple[int, int, int]
                      ) -> tuple[dict[str, TensorSpec], list[TensorSpec]]:
    """The weights (name -> spec) and the parameters, in order, of the model config.json describes.

    The model is built on PyTorch's meta device: shapes without memory, so a 1 KB config describing
    a huge model costs nothing; one of more than MAX_MODEL_PARAMETERS values is refused.
    """
    try:
        with torch.device("meta"):
            model = build_model(config.model, input_shape)
    except (AecoreError, RuntimeError, ValueError, OverflowError) as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE} describes a model that cannot be built: "
                              f"{_one_line(exc)}") from None
    weights = {name: TensorSpec(t.dtype, tuple(t.shape)) for name, t in model.state_dict().items()}
    size = sum(math.prod(spec.shape) for spec in weights.values())
    if size > MAX_MODEL_PARAMETERS:
        raise CheckpointError(f"{folder / CONFIG_FILE} describes a model of {size:,} weights; at most "
                              f"{MAX_MODEL_PARAMETERS:,} are loaded")
    return weights, [TensorSpec(p.dtype, tuple(p.shape)) for p in model.parameters()]


def load_run(folder: str | Path, device: torch.device | str = "cpu") -> LoadedRun:
    """Rebuild a run's model from its config.json and load its weights, refusing any mismatch.

    The shapes and sizes config.json implies are checked against each safetensors header before any
    tensor is allocated; every refusal is one CheckpointError line naming the file.
    """
    folder = Path(folder)
    config, input_shape, class_names = read_run_config(folder)
    expected, parameters = _expected_tensors(folder, config, input_shape)
    weights_path = folder / MODEL_FILE
    declared, _ = read_safetensors_header(weights_path)
    if NORMALIZER_PREFIX + "mean" in declared or NORMALIZER_PREFIX + "std" in declared:
        for part in ("mean", "std"):  # a standardising normaliser: per-pixel float32 (C, H, W)
            expected[NORMALIZER_PREFIX + part] = TensorSpec(torch.float32, input_shape)
    _match_header(weights_path, declared, expected)
    optimizer_path = folder / OPTIMIZER_FILE
    optimizer_metadata = None
    if optimizer_path.is_file():
        optimizer_declared, optimizer_metadata = read_safetensors_header(optimizer_path)
        _match_optimizer_header(optimizer_path, optimizer_declared, parameters)
    history = _read_json(folder / HISTORY_FILE)
    if not isinstance(history, list) or not all(isinstance(record, dict) and isinstance(record.get("step"), int)
                                                and isinstance(record.get("epoch", 0), int) for record in history):
        raise CheckpointError(f"{folder / HISTORY_FILE} must hold a list of epoch records with a step count")

    try:  # the size was checked on the meta device; the output shape is checked here, by one CPU forward
        model = build_model(config.model, input_shape)
    except AecoreError as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE} describes a model that cannot be built: "
                              f"{_one_line(exc)}") from None
    tensors = _load_tensors(weights_path)
    normalizer = Normalizer()
    if NORMALIZER_PREFIX + "mean" in tensors:
        normalizer = Normalizer(tensors.pop(NORMALIZER_PREFIX + "mean"), tensors.pop(NORMALIZER_PREFIX + "std"))
    model.load_state_dict(tensors)
    optimizer_state = None
    if optimizer_metadata is not None:
        try:
            optimizer_state = _unflatten_optimizer_state(_load_tensors(optimizer_path),
                                                         json.loads(optimizer_metadata["state"]))
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise CheckpointError(f"{optimizer_path} has no readable optimiser state ({_one_line(exc)})") from None
    progress = _read_json(folder / PROGRESS_FILE) if (folder / PROGRESS_FILE).is_file() else None
    if progress is not None and not isinstance(progress, dict):
        raise CheckpointError(f"{folder / PROGRESS_FILE} must hold an object")
    return LoadedRun(folder, config, model.to(device).eval(), history, class_names, normalizer, optimizer_state,
                     progress)


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
