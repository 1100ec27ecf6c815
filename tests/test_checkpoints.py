"""Tests for aecore.checkpoints: save / load round trips, resuming, refusing bad folders, atomic writes."""

from __future__ import annotations

import copy
import json
import math
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image

import aecore
import aecore.checkpoints as checkpoints
from aecore.checkpoints import list_runs, load_run, read_run_config, resolve_run, save_run
from aecore.config import DataConfig, RunConfig
from aecore.data import load_dataset
from aecore.errors import CheckpointError
from aecore.events import CheckpointSaved, Finished
from aecore.models import build_model
from aecore.presets import preset_config
from aecore.training import TrainingState, fit

RUN_FILES = {"model.safetensors", "config.json", "history.json", "optimizer.safetensors", "preview.png",
             "progress.json"}


@pytest.fixture(scope="module")
def digits_standard():
    return load_dataset(DataConfig(name="digits", normalization="standard"))


def small_config(preset: str = "ae", *, hidden=(32, 16), output_activation=None, **overrides) -> RunConfig:
    """A preset on 'digits' with one epoch, a 4-d code and small layers, on the CPU."""
    config = preset_config(preset, dataset="digits", epochs=1, latent=4, device="cpu", batch_size=256, **overrides)
    model = replace(config.model, hidden=hidden)
    if output_activation is not None:
        model = replace(model, output_activation=output_activation)
    return replace(config, model=model)


def train(config: RunConfig, dataset, save_to: Path | None = None, epochs: int | None = None) -> TrainingState:
    state = TrainingState.create(config, dataset.input_shape, device="cpu", class_names=dataset.class_names)
    events = list(fit(state, dataset, save_to=save_to, epochs=epochs))
    assert isinstance(events[-1], Finished) and not events[-1].stopped, events[-1]
    if save_to is not None:
        assert any(isinstance(e, CheckpointSaved) and Path(e.path) == Path(save_to) for e in events)
    return state


def tmp_files(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory, digits) -> tuple[Path, TrainingState]:
    """A one-epoch MLP run with a 4-d code, saved by fit(save_to=...); copy it before breaking it."""
    folder = tmp_path_factory.mktemp("runs") / "mlp-run"
    state = train(small_config(), digits, save_to=folder)
    return folder, state


@pytest.fixture
def run_copy(saved_run, tmp_path: Path) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(saved_run[0], folder)
    return folder


# ---------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("kind", ["mlp-ae", "conv-vae", "standard"])
def test_save_load_gives_identical_outputs(kind, digits, digits_standard, tmp_path: Path):
    if kind == "mlp-ae":
        config, dataset = small_config(), digits
    elif kind == "conv-vae":
        config, dataset = small_config("conv-vae", hidden=(8, 16)), digits
    else:
        config = small_config(output_activation="linear")
        config = replace(config, data=replace(config.data, normalization="standard"))
        dataset = digits_standard
    folder = tmp_path / kind
    state = train(config, dataset, save_to=folder)
    loaded = load_run(folder)

    assert loaded.config == config
    assert loaded.class_names == dataset.class_names == tuple(str(i) for i in range(10))
    assert loaded.history == state.history and loaded.epochs == 1
    assert loaded.name == kind and loaded.path == folder
    assert not loaded.model.training  # loaded in eval mode
    assert loaded.model.input_shape == dataset.input_shape
    original_weights, loaded_weights = state.model.state_dict(), loaded.model.state_dict()
    assert original_weights.keys() == loaded_weights.keys()
    for name, value in original_weights.items():
        assert torch.equal(value, loaded_weights[name]), name

    state.model.eval()
    x = dataset.test.x[:64]
    with torch.no_grad():
        expected, got = state.model.reconstruct(x), loaded.model.reconstruct(x)
        assert torch.equal(expected, got)
        if config.model.variational:
            # eval mode decodes the mean, so a VAE's reconstruction is deterministic
            assert torch.equal(loaded.model.reconstruct(x), got)
            assert loaded.model.variational

    if kind == "standard":
        assert torch.equal(loaded.normalizer.mean, dataset.normalizer.mean)
        assert torch.equal(loaded.normalizer.std, dataset.normalizer.std)
        assert loaded.normalizer.mean.shape == (1, 8, 8)
    else:
        assert loaded.normalizer.mean is None and loaded.normalizer.std is None


def test_fit_save_to_writes_the_run_files(saved_run):
    folder, state = saved_run
    assert set(os.listdir(folder)) == RUN_FILES
    config = json.loads((folder / "config.json").read_text())
    assert config["format"] == checkpoints.FORMAT
    assert config["input_shape"] == [1, 8, 8]
    assert RunConfig.from_dict(config["run"]) == state.config
    history = json.loads((folder / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1]
    assert history[0]["step"] == state.step == math.ceil(1295 / 256)  # digits: 1,295 training images
    with Image.open(folder / "preview.png") as preview:
        assert preview.format == "PNG"
        assert preview.width > 0 and preview.height > 0


def test_save_without_optimizer(saved_run, run_copy: Path, digits, tmp_path: Path):
    _, state = saved_run
    folder = state.save(tmp_path / "lean", with_optimizer=False)
    assert set(os.listdir(folder)) == {"model.safetensors", "config.json", "history.json"}
    # saving over a run that had an optimiser file removes the now stale one
    assert (run_copy / "optimizer.safetensors").exists()
    state.save(run_copy, with_optimizer=False)
    assert not (run_copy / "optimizer.safetensors").exists()
    loaded = load_run(folder)
    assert loaded.optimizer_state is None
    resumed = TrainingState.from_run(loaded)
    assert resumed.optimizer.state_dict()["state"] == {}  # a fresh optimiser
    assert resumed.epoch == 1
    list(fit(resumed, digits, epochs=2))
    assert resumed.epoch == 2 and len(resumed.history) == 2


# ---------------------------------------------------------------------------------------- resuming


def test_resume_carries_epoch_step_and_optimizer_state(saved_run, run_copy: Path, digits):
    _, state = saved_run
    loaded = load_run(run_copy)
    resumed = TrainingState.from_run(loaded)
    assert resumed.epoch == state.epoch == 1
    assert resumed.step == state.step > 0
    assert resumed.history == state.history
    assert resumed.class_names == state.class_names
    assert resumed.model.training  # ready to train

    saved_opt, resumed_opt = state.optimizer.state_dict(), resumed.optimizer.state_dict()
    assert saved_opt["state"].keys() == resumed_opt["state"].keys() and len(saved_opt["state"]) > 0
    for param_id, values in saved_opt["state"].items():
        assert values.keys() == resumed_opt["state"][param_id].keys() == {"step", "exp_avg", "exp_avg_sq"}
        for key, value in values.items():
            assert torch.equal(value, resumed_opt["state"][param_id][key]), (param_id, key)
    assert float(saved_opt["state"][0]["step"]) == state.step
    for saved_group, resumed_group in zip(saved_opt["param_groups"], resumed_opt["param_groups"], strict=True):
        assert saved_group["lr"] == resumed_group["lr"]
        assert tuple(saved_group["betas"]) == tuple(resumed_group["betas"])
        assert saved_group["params"] == resumed_group["params"]

    events = list(fit(resumed, digits, epochs=2))
    assert isinstance(events[-1], Finished)
    assert resumed.epoch == 2 and len(resumed.history) == 2
    assert resumed.history[0] == state.history[0]
    assert resumed.history[1]["step"] == 2 * state.step


def test_resume_matches_an_uninterrupted_run(saved_run, run_copy: Path, digits):
    """1 epoch + save + load + 1 epoch trains exactly as 2 epochs in one go (same weights, same Adam state)."""
    _, state = saved_run
    resumed = TrainingState.from_run(load_run(run_copy))
    list(fit(resumed, digits, epochs=2))
    straight = train(state.config, digits, epochs=2)
    assert straight.step == resumed.step
    for name, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, rtol=1e-5, atol=1e-6, msg=name)


# ---------------------------------------------------------------------------------------- refusing bad folders


def _raises_naming(path: Path, match: str | None = None) -> pytest.ExceptionInfo:
    with pytest.raises(CheckpointError) as info:
        load_run(path.parent if path.suffix else path)
    assert str(path) in str(info.value), str(info.value)
    if match is not None:
        assert re.search(match, str(info.value)), str(info.value)
    return info


def test_missing_config(run_copy: Path):
    (run_copy / "config.json").unlink()
    _raises_naming(run_copy / "config.json", "missing")


def test_missing_model(run_copy: Path):
    (run_copy / "model.safetensors").unlink()
    _raises_naming(run_copy / "model.safetensors", "missing")


def test_missing_history(run_copy: Path):
    (run_copy / "history.json").unlink()
    _raises_naming(run_copy / "history.json", "missing")


def test_config_not_json(run_copy: Path):
    (run_copy / "config.json").write_text("{ this is not json")
    _raises_naming(run_copy / "config.json", "JSON")
    with pytest.raises(CheckpointError, match="JSON"):
        read_run_config(run_copy)


def test_config_with_another_format(run_copy: Path):
    raw = json.loads((run_copy / "config.json").read_text())
    raw["format"] = "someone-else/7"
    (run_copy / "config.json").write_text(json.dumps(raw))
    _raises_naming(run_copy / "config.json", "format")


def test_config_that_is_not_an_object(run_copy: Path):
    (run_copy / "config.json").write_text("[1, 2, 3]")
    _raises_naming(run_copy / "config.json")


def test_config_with_invalid_run(run_copy: Path):
    raw = json.loads((run_copy / "config.json").read_text())
    raw["run"]["model"]["latent_dimension"] = 4  # a typo: unknown field
    (run_copy / "config.json").write_text(json.dumps(raw))
    _raises_naming(run_copy / "config.json", "latent_dimension")


def test_model_file_is_garbage(run_copy: Path):
    (run_copy / "model.safetensors").write_bytes(os.urandom(64) + b"definitely not safetensors")
    _raises_naming(run_copy / "model.safetensors", "safetensors")


def test_optimizer_file_is_garbage(run_copy: Path):
    (run_copy / "optimizer.safetensors").write_bytes(b"\x00" * 3)
    _raises_naming(run_copy / "optimizer.safetensors")


def test_weights_do_not_match_config(run_copy: Path):
    raw = json.loads((run_copy / "config.json").read_text())
    assert raw["run"]["model"]["latent_dim"] == 4
    raw["run"]["model"]["latent_dim"] = 8
    (run_copy / "config.json").write_text(json.dumps(raw))
    info = _raises_naming(run_copy / "model.safetensors", "does not match")
    assert "config.json" in str(info.value)


def test_weights_of_another_architecture(run_copy: Path):
    raw = json.loads((run_copy / "config.json").read_text())
    raw["run"]["model"]["hidden"] = [32]  # one hidden layer fewer: missing / unexpected tensors
    (run_copy / "config.json").write_text(json.dumps(raw))
    _raises_naming(run_copy / "model.safetensors", "does not match")


def test_path_is_a_file_or_missing(tmp_path: Path):
    a_file = tmp_path / "model.safetensors"
    a_file.write_bytes(b"")
    for path in (a_file, tmp_path / "does-not-exist"):
        with pytest.raises(CheckpointError) as info:
            load_run(path)
        assert str(path) in str(info.value)
        with pytest.raises(CheckpointError):
            read_run_config(path)


def test_negative_input_shape_is_refused(run_copy: Path):
    raw = json.loads((run_copy / "config.json").read_text())
    raw["input_shape"] = [1, -8, 8]
    (run_copy / "config.json").write_text(json.dumps(raw))
    _raises_naming(run_copy / "config.json")


# ---------------------------------------------------------------------------------------- atomic writes


def test_save_leaves_no_temporary_files(saved_run, run_copy: Path):
    _, state = saved_run
    assert tmp_files(saved_run[0]) == []
    state.save(run_copy)  # over an existing run
    assert tmp_files(run_copy) == []


def test_failed_write_keeps_the_previous_file(saved_run, run_copy: Path, monkeypatch):
    _, state = saved_run
    before = {name: (run_copy / name).read_bytes() for name in os.listdir(run_copy)}
    written_to = []

    def crash_mid_write(tensors, filename, metadata=None):
        written_to.append(Path(filename))
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints, "save_file", crash_mid_write)
    changed = copy.deepcopy(state)  # other weights, so a successful write would change the file
    with torch.no_grad():
        for parameter in changed.model.parameters():
            parameter.add_(1.0)
    with pytest.raises(OSError, match="disk full"):
        changed.save(run_copy)
    assert written_to and written_to[0].parent == run_copy and written_to[0].name != "model.safetensors"
    assert not written_to[0].exists()
    assert tmp_files(run_copy) == []
    after = {name: (run_copy / name).read_bytes() for name in os.listdir(run_copy)}
    assert after == before
    monkeypatch.undo()
    load_run(run_copy)  # still a good run


def test_nothing_is_unpickled_static():
    sources = sorted(Path(aecore.__file__).parent.rglob("*.py"))
    assert len(sources) > 10 and any(p.name == "checkpoints.py" for p in sources)
    forbidden = re.compile(r"\btorch\s*\.\s*load\s*\(|\bjit\s*\.\s*load\s*\(|\bpickle\s*\.\s*loads?\s*\("
                           r"|\bimport\s+pickle\b|\bfrom\s+pickle\b|\bfrom\s+torch\s+import\s+[^\n]*\bload\b"
                           r"|allow_pickle\s*=\s*True|weights_only\s*=\s*False")
    offenders = [f"{path}:{line_no}: {line.strip()}"
                 for path in sources
                 for line_no, line in enumerate(path.read_text().splitlines(), start=1)
                 if forbidden.search(line)]
    assert offenders == []


def test_nothing_is_unpickled_at_runtime(run_copy: Path, monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("something was unpickled")

    for module, name in ((torch, "load"), (pickle, "load"), (pickle, "loads"), (pickle, "Unpickler")):
        monkeypatch.setattr(module, name, refuse)
    loaded = load_run(run_copy)
    TrainingState.from_run(loaded)


# ---------------------------------------------------------------------------------------- finding runs


def test_list_runs_and_resolve_run(saved_run, tmp_path: Path, monkeypatch):
    root = tmp_path / "root"
    for name in ("b-run", "a-run"):
        shutil.copytree(saved_run[0], root / name)
    (root / "empty").mkdir()
    (root / "weights-only").mkdir()
    shutil.copy(saved_run[0] / "model.safetensors", root / "weights-only")
    (root / "notes.txt").write_text("not a run")
    other = tmp_path / "other"
    shutil.copytree(saved_run[0], other / "c-run")

    assert list_runs(root) == [root / "a-run", root / "b-run"]
    assert list_runs(root, other, tmp_path / "missing-root") == [root / "a-run", root / "b-run", other / "c-run"]
    assert list_runs(tmp_path / "missing-root") == []

    assert resolve_run(root / "a-run") == root / "a-run"
    assert resolve_run(str(other / "c-run")) == other / "c-run"
    monkeypatch.setattr(checkpoints, "PRETRAINED_DIR", root)
    monkeypatch.setattr(checkpoints, "USER_RUNS_DIR", other)
    assert resolve_run("c-run") == other / "c-run"
    assert resolve_run("b-run") == root / "b-run"
    with pytest.raises(CheckpointError, match="no-such-run"):
        resolve_run("no-such-run")


def test_saved_files_are_readable_by_everyone(saved_run):
    folder, _ = saved_run
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}
    assert modes and all(mode == 0o644 for mode in modes.values()), modes


def test_history_entries_must_be_epoch_records(run_copy: Path):
    (run_copy / "history.json").write_text("[1, 2]")
    _raises_naming(run_copy / "history.json", match="epoch records")


# ---------------------------------------------------------------------------------------- history format


def test_a_long_history_is_thinned_and_the_run_still_counts_every_epoch(saved_run, tmp_path: Path, digits):
    _, state = saved_run
    long = copy.copy(state)
    long.history = [{**state.history[0], "epoch": e, "step": e * 6} for e in range(1, 5001)]
    long.epoch, long.step = 5000, 30000
    folder = long.save(tmp_path / "long")
    saved = json.loads((folder / "history.json").read_text())
    assert len(saved) == checkpoints.MAX_HISTORY_RECORDS
    assert saved[0]["epoch"] == 1 and saved[-1] == long.history[-1]
    assert (folder / "history.json").stat().st_size < 100_000
    resumed = TrainingState.from_run(load_run(folder))
    assert (resumed.epoch, resumed.step) == (5000, 30000)
    list(fit(resumed, digits, epochs=5001))
    assert resumed.history[-1]["epoch"] == 5001 and resumed.history[-1]["step"] == 30000 + state.step


def test_a_run_of_the_first_format_still_loads(saved_run, run_copy: Path):
    _, state = saved_run
    config = json.loads((run_copy / "config.json").read_text())
    config["format"] = "aecore-run/1"
    (run_copy / "config.json").write_text(json.dumps(config, indent=2))
    (run_copy / "history.json").write_text(json.dumps(state.history, indent=2))
    loaded = load_run(run_copy)
    assert loaded.history == state.history and loaded.epochs == 1


def test_shipped_history_files_stay_small():
    for run in list_runs(checkpoints.PRETRAINED_DIR, checkpoints.LABS_DIR):
        assert (run / "history.json").stat().st_size <= 100_000, run.name


# ---------------------------------------------------------------------------------------- hostile run folders


def _edit_config(folder: Path, **changes) -> None:
    raw = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        if key in ("input_shape", "class_names"):
            raw[key] = value
        else:
            raw["run"]["model"][key] = value
    (folder / "config.json").write_text(json.dumps(raw))


def _edit_header(path: Path, edit) -> None:
    """Rewrite a safetensors file's JSON header with ``edit(header)``, keeping its data bytes."""
    raw = path.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + length])
    edit(header)
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + length:])


@pytest.fixture
def builds(monkeypatch) -> list[str]:
    """The device of every model load_run builds: 'meta' (shapes only) or 'cpu' (weights allocated)."""
    devices, real = [], checkpoints.build_model

    def spy(*args):
        model = real(*args)
        devices.append(next(model.parameters()).device.type)
        return model

    monkeypatch.setattr(checkpoints, "build_model", spy)
    return devices


def _refused(path: Path, match: str) -> str:
    with pytest.raises(CheckpointError) as info:
        load_run(path.parent)
    message = str(info.value)
    assert str(path) in message and "\n" not in message and re.search(match, message), message
    return message


def test_a_tiny_config_describing_a_huge_model_is_refused_before_any_weight_is_allocated(run_copy: Path, builds):
    _edit_config(run_copy, hidden=[16384, 16384], input_shape=[3, 1024, 1024])
    assert (run_copy / "config.json").stat().st_size < 2048
    _refused(run_copy / "config.json", r"describes a model of [\d,]+ weights; at most 100,000,000")
    assert builds == ["meta"]


@pytest.mark.parametrize(("change", "match"), [
    ({"latent_dim": 8}, "has shape .* the config's model needs"),
    ({"hidden": [32]}, "missing|unexpected"),
])
def test_a_header_that_disagrees_with_the_config_is_refused_before_any_tensor_is_read(
        run_copy: Path, builds, monkeypatch, change, match):
    monkeypatch.setattr(checkpoints, "load_file", lambda *args: pytest.fail("tensors were read"))
    _edit_config(run_copy, **change)
    _refused(run_copy / "model.safetensors", f"does not match config.json: .*({match})")
    assert builds == ["meta"]


def _grow_first_shape(header: dict) -> None:
    name = next(key for key in header if key != "__metadata__")
    header[name]["shape"] = [dim * 1000 for dim in header[name]["shape"]]


@pytest.mark.parametrize(("damage", "match"), [
    ("length beyond the file", "header length"),
    ("shape larger than its bytes", "spanning shape x dtype size"),
    ("truncated data", "truncated or has bytes appended"),
    ("bytes appended", "truncated or has bytes appended"),
    ("unknown dtype", "known dtype"),
    ("overlapping tensors", "overlap or leave gaps"),
    ("header not json", "header is not JSON"),
])
def test_a_damaged_safetensors_header_is_refused_naming_the_file(run_copy: Path, monkeypatch, damage, match):
    monkeypatch.setattr(checkpoints, "load_file", lambda *args: pytest.fail("tensors were read"))
    path = run_copy / "model.safetensors"
    raw = path.read_bytes()
    if damage == "length beyond the file":
        path.write_bytes((len(raw) * 10).to_bytes(8, "little") + raw[8:])
    elif damage == "shape larger than its bytes":
        _edit_header(path, _grow_first_shape)
    elif damage == "truncated data":
        path.write_bytes(raw[:-100])
    elif damage == "bytes appended":
        path.write_bytes(raw + b"\x00" * 16)
    elif damage == "unknown dtype":
        _edit_header(path, lambda header: next(v for k, v in header.items() if k != "__metadata__").update(dtype="Q7"))
    elif damage == "overlapping tensors":
        def overlap(header):
            first, second = [v for k, v in header.items() if k != "__metadata__"][:2]
            size = first["data_offsets"][1] - first["data_offsets"][0]
            if second["data_offsets"][1] - second["data_offsets"][0] == size:
                second["data_offsets"] = list(first["data_offsets"])
            else:  # shift one tensor onto its neighbour's bytes
                first["data_offsets"] = [v + 4 for v in first["data_offsets"]]
        _edit_header(path, overlap)
    else:
        path.write_bytes(raw[:8] + b"{not json" + raw[17:])
    _refused(path, match)


def test_weights_of_another_dtype_are_refused(run_copy: Path):
    path = run_copy / "model.safetensors"
    tensors = checkpoints.load_file(str(path))
    checkpoints.save_file({name: t.double() if t.is_floating_point() else t for name, t in tensors.items()}, str(path))
    _refused(path, r"is F64 \[.*\], the config's model needs F32")


def test_optimizer_state_that_fits_no_parameter_is_refused_before_it_is_read(run_copy: Path, monkeypatch):
    path = run_copy / "optimizer.safetensors"
    checkpoints.save_file({"0.exp_avg": torch.zeros(3000, 3000)}, str(path), metadata={"state": "{}"})
    monkeypatch.setattr(checkpoints, "load_file", lambda *args: pytest.fail("tensors were read"))
    _refused(path, "is not state of one of the model's")


def test_class_names_with_surrogate_escapes_or_bidi_marks_are_read_as_safe_text(run_copy: Path):
    text = (run_copy / "config.json").read_text()
    raw = json.loads(text)
    raw["class_names"] = ["0", "1"]
    escaped = json.dumps(raw).replace('["0", "1"]', '["caf\\udce9", "\\u202eevil"]')  # lone surrogate, RLO
    (run_copy / "config.json").write_text(escaped)
    _, _, class_names = read_run_config(run_copy)
    assert class_names == ("caf\ufffd", "evil")
    assert all(name.encode("utf-8") for name in class_names)


def test_an_input_shape_too_large_for_any_run_is_refused(run_copy: Path):
    _edit_config(run_copy, input_shape=[3, 4096, 4096])
    _refused(run_copy / "config.json", r"input_shape \[3, 4096, 4096\] has more than")


def test_an_oversized_json_file_is_refused_unread(run_copy: Path, monkeypatch):
    monkeypatch.setattr(checkpoints, "MAX_RUN_JSON_BYTES", 64)
    _refused(run_copy / "config.json", "bytes; a run's JSON files are at most 64")


def test_a_history_whose_epoch_is_not_a_count_is_refused(run_copy: Path):
    history = json.loads((run_copy / "history.json").read_text())
    history[-1]["epoch"] = "twelve"
    (run_copy / "history.json").write_text(json.dumps(history))
    _refused(run_copy / "history.json", "list of epoch records")


def test_loading_a_run_runs_no_forward_on_the_meta_device(tmp_path):
    """The weights are counted on the meta device without a forward pass there: a process's first meta
    forward imports sympy and torch._dynamo (about 2 s of the first page, and memory in every worker)."""
    folder = tmp_path / "run"
    save_run(folder, config=RunConfig(), model=build_model(RunConfig().model, (1, 28, 28)), history=[])
    code = ("import sys\n"
            "from aecore.checkpoints import load_run\n"
            f"run = load_run({str(folder)!r})\n"
            "assert run.model.output_shape == (1, 28, 28)\n"
            "assert 'sympy' not in sys.modules and 'torch._dynamo' not in sys.modules, 'a meta forward ran'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr
