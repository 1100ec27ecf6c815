"""Image folders bigger than memory: a folder over the memory budget streams from a uint8 cache on disk and
gives the same images, labels and names, in the same order, as the in-memory path; training through it works."""

import dataclasses
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from drawn_images import CLASSES, drawn_folder

from aecore import data as data_module
from aecore import image_stream
from aecore.config import DataConfig
from aecore.data import load_dataset
from aecore.errors import DataError
from aecore.events import Epoch, Failed, Finished
from aecore.image_stream import MEMORY_BUDGET_ENV, StreamedImages, memory_budget_bytes
from aecore.presets import preset_config
from aecore.training import TrainingState, fit

PER_CLASS = 700  # 2,100 images: a few thousand small files


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = drawn_folder(tmp_path_factory.mktemp("images"), PER_CLASS)
    (root / "circles" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # a damaged file
    (root / "squares" / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(image_stream.CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _config(folder: Path, **changes) -> DataConfig:
    return DataConfig(name=f"folder:{folder}", image_size=16, val_fraction=0.1, **changes)


def _float_bytes(n: int, side: int = 16, channels: int = 3) -> int:
    return n * channels * side * side * 4


def test_the_streamed_path_gives_the_same_images_labels_and_names_in_the_same_order(folder):
    in_memory = load_dataset(_config(folder))
    streamed = load_dataset(_config(folder), memory_budget=0)
    assert isinstance(in_memory.train.x, torch.Tensor) and isinstance(streamed.train.x, StreamedImages)
    assert in_memory.loading.startswith("In memory") and streamed.loading.startswith("Streamed")
    assert streamed.class_names == in_memory.class_names == CLASSES
    assert streamed.input_shape == in_memory.input_shape == (3, 16, 16)
    for name in ("train", "val", "test"):
        memory_split, streamed_split = getattr(in_memory, name), getattr(streamed, name)
        assert len(streamed_split) == len(memory_split) > 0
        assert torch.equal(streamed_split.x[:], memory_split.x)  # same pixels, same order
        assert torch.equal(streamed_split.y, memory_split.y) and streamed_split.names == memory_split.names
    order = torch.tensor([5, 0, 17, 5])  # batches by index, as fit() takes them; repeats allowed
    assert torch.equal(streamed.train.x[order], in_memory.train.x[order])
    assert torch.equal(streamed.train.x[3], in_memory.train.x[3])
    assert streamed.value_range == in_memory.value_range
    assert sum(map(len, (streamed.train, streamed.val, streamed.test))) == len(CLASSES) * PER_CLASS


def test_standardised_streamed_images_match_the_in_memory_ones(folder):
    in_memory = load_dataset(_config(folder, normalization="standard"))
    streamed = load_dataset(_config(folder, normalization="standard"), memory_budget=0)
    assert torch.allclose(streamed.normalizer.mean, in_memory.normalizer.mean, atol=1e-5)
    assert torch.allclose(streamed.normalizer.std, in_memory.normalizer.std, atol=1e-5)
    assert torch.allclose(streamed.test.x[:50], in_memory.test.x[:50], atol=1e-4)


def test_a_folder_over_the_memory_budget_streams_and_one_within_it_does_not(folder):
    images = len(CLASSES) * PER_CLASS + 1  # the broken png counts until it is read; the .txt does not
    exact = load_dataset(_config(folder), memory_budget=_float_bytes(images))
    over = load_dataset(_config(folder), memory_budget=_float_bytes(images) - 1)
    assert isinstance(exact.train.x, torch.Tensor) and isinstance(over.train.x, StreamedImages)
    assert f"{images:,} images of 16x16 RGB" in over.loading and "over the" in over.loading
    assert "within the" in exact.loading


def test_the_default_budget_comes_from_the_environment_so_workers_share_it(monkeypatch):
    monkeypatch.setenv(MEMORY_BUDGET_ENV, "0.5")
    assert memory_budget_bytes() == 2**19
    monkeypatch.setenv(MEMORY_BUDGET_ENV, "lots")
    assert memory_budget_bytes() == image_stream.MEMORY_BUDGET_BYTES


def test_a_damaged_file_is_skipped_with_its_reason_on_both_paths(folder):
    in_memory = load_dataset(_config(folder))
    streamed = load_dataset(_config(folder), memory_budget=0)
    assert streamed.skipped == in_memory.skipped
    reasons = {Path(file).name: reason for file, reason in streamed.skipped}
    assert "damaged" in reasons["broken.png"] or "not a readable image" in reasons["broken.png"]
    assert reasons["notes.txt"] == "not an image file type"


def test_the_cache_is_written_once_and_written_again_when_a_file_changes(folder, cache_dir, monkeypatch):
    load_dataset(_config(folder), memory_budget=0)
    assert len(list(cache_dir.glob("*.u8"))) == 1
    monkeypatch.setattr(data_module, "_read_image", lambda *args: pytest.fail("an image was decoded again"))
    again = load_dataset(_config(folder), memory_budget=0)
    assert len(again.train) > 0
    monkeypatch.undo()
    monkeypatch.setenv(image_stream.CACHE_DIR_ENV, str(cache_dir))
    changed = folder / "stripes" / "0000.png"
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    decoded = []
    real = data_module._read_image
    monkeypatch.setattr(data_module, "_read_image", lambda *args: decoded.append(args[0]) or real(*args))
    load_dataset(_config(folder), memory_budget=0)
    assert len(decoded) == len(CLASSES) * PER_CLASS + 2  # every file once more, in a new cache
    assert len(list(cache_dir.glob("*.u8"))) == 2


def test_a_disk_without_room_for_the_cache_is_refused_in_one_line(folder, monkeypatch):
    monkeypatch.setattr(image_stream, "free_disk_bytes", lambda path: 10 * 2**20)
    with pytest.raises(DataError, match="the image cache needs .* of disk space, but the server has only") as info:
        load_dataset(_config(folder), memory_budget=0)
    assert "\n" not in str(info.value)


def test_a_streamed_view_never_holds_the_images(folder):
    streamed = load_dataset(_config(folder), memory_budget=0)
    view = streamed.train.x
    assert view.indices.dtype == np.int64 and not any(isinstance(v, torch.Tensor) and v.numel() > 1000
                                                      for v in vars(view).values())
    assert view.rows(torch.tensor([2, 0])).shape == (2, 3, 16, 16)
    assert view.to("cpu")[0:2].device.type == "cpu"


def _train(dataset, epochs: int = 3) -> list:
    config = preset_config("conv-ae", dataset=dataset.name, image_size=16, latent=8, epochs=epochs, batch_size=64)
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, hidden=(8, 16)),
                                 train=dataclasses.replace(config.train, lr=3e-3))
    state = TrainingState.create(config, dataset.input_shape, "cpu", class_names=dataset.class_names)
    return list(fit(state, dataset))


def test_training_through_the_streamed_path_lowers_the_loss_as_the_in_memory_path_does(folder):
    streamed_events = _train(load_dataset(_config(folder), memory_budget=0))
    assert not any(isinstance(event, Failed) for event in streamed_events)
    epochs = [event for event in streamed_events if isinstance(event, Epoch)]
    assert len(epochs) == 3 and isinstance(streamed_events[-1], Finished)
    assert epochs[-1].train["total"] < 0.8 * epochs[0].train["total"]
    assert epochs[-1].preview is not None and epochs[-1].preview.train_inputs.shape[1:] == (3, 16, 16)
    memory_epochs = [event for event in _train(load_dataset(_config(folder)), epochs=1) if isinstance(event, Epoch)]
    assert math.isclose(memory_epochs[0].train["total"], epochs[0].train["total"], rel_tol=1e-4)


@pytest.mark.parametrize(("budget_mb", "path"), [("0.01", "Streamed: "), (None, "In memory: ")])
def test_the_page_says_which_path_it_took_and_why(folder, monkeypatch, budget_mb, path):
    from streamlit.testing.v1 import AppTest

    from aecore.uploads import IMAGE_ROOTS_ENV

    monkeypatch.setenv(IMAGE_ROOTS_ENV, str(folder.parent))
    if budget_mb:
        monkeypatch.setenv(MEMORY_BUDGET_ENV, budget_mb)
    else:
        monkeypatch.delenv(MEMORY_BUDGET_ENV, raising=False)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "views" / "own_images.py"),
                           default_timeout=120).run()
    at.text_input(key="own_server_folder").set_value(str(folder)).run()
    at.button(key="own_use_folder").click().run()
    assert not at.exception and not at.error
    lines = [caption.value for caption in at.caption if caption.value.startswith(path)]
    assert len(lines) == 1 and "2,101 images of 64x64 RGB" in lines[0] and "memory budget" in lines[0]
    assert f"**circles**: {PER_CLASS} images" in " ".join(m.value for m in at.markdown)
