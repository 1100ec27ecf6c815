"""One copy of a dataset in memory for every worker process: its prepared splits as memory-mapped files.

Each worker process used to prepare its own float copy of a dataset (MNIST: about 0.2 GB for the training
split alone, the largest part of a worker). :func:`mapped_dataset` writes a prepared dataset's tensors once,
as ``.npy`` files in a cache folder, and every worker maps them read-only: the operating system keeps one copy
of those pages for all of them, so another worker costs little more than torch itself. Image folders (their
own streaming cache, :mod:`aecore.image_stream`) are left as they are.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from aecore.config import DataConfig
from aecore.data import Dataset, Normalizer, Split

CACHE_VERSION = 1
KEPT = 4  # datasets kept in the cache folder, the most recently written
_SPLITS = ("train", "val", "test")


def cache_dir() -> Path:
    """Where the mapped datasets live: ``AECORE_DATASET_CACHE``, else ``~/.cache/aecore/datasets``."""
    return Path(os.environ.get("AECORE_DATASET_CACHE") or Path.home() / ".cache" / "aecore" / "datasets")


def mapped_dataset(config: DataConfig, load: Callable[[], Dataset]) -> Dataset:
    """``config``'s dataset with its tensors mapped from the cache folder, written there first by ``load()`` (a
    prepared :class:`Dataset` on the CPU) when missing. A dataset that cannot be mapped (streamed images, file
    names) is ``load()``'s own."""
    folder = cache_dir() / hashlib.sha256(f"{CACHE_VERSION} {config!r}".encode()).hexdigest()[:24]
    if not (folder / "meta.json").is_file():
        dataset = load()
        if not _mappable(dataset):
            return dataset
        try:
            _write(dataset, folder)
        except OSError:  # a full or read-only disk: this worker keeps its own copy
            return dataset
    return _read(folder)


def _mappable(dataset: Dataset) -> bool:
    return all(isinstance(getattr(dataset, name).x, torch.Tensor) and getattr(dataset, name).names is None
               and getattr(dataset, name).x.device.type == "cpu" for name in _SPLITS)


def _write(dataset: Dataset, folder: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name in _SPLITS:
            split = getattr(dataset, name)
            np.save(staged / f"{name}_x.npy", split.x.contiguous().numpy())
            np.save(staged / f"{name}_y.npy", split.y.contiguous().numpy())
        if dataset.normalizer.mean is not None:
            np.save(staged / "mean.npy", dataset.normalizer.mean.numpy())
            np.save(staged / "std.npy", dataset.normalizer.std.numpy())
        (staged / "meta.json").write_text(json.dumps({"name": dataset.name, "class_names": dataset.class_names}))
        try:
            os.rename(staged, folder)  # whole, or not at all; another worker may have been first
        except OSError:
            shutil.rmtree(staged, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    _forget_old(folder.parent)


def _read(folder: Path) -> Dataset:
    meta = json.loads((folder / "meta.json").read_text())

    def mapped(name: str) -> torch.Tensor:
        with warnings.catch_warnings():  # read-only pages: nothing writes into a dataset's tensors
            warnings.simplefilter("ignore", UserWarning)
            return torch.from_numpy(np.load(folder / name, mmap_mode="r"))

    splits = {name: Split(mapped(f"{name}_x.npy"), mapped(f"{name}_y.npy")) for name in _SPLITS}
    normalizer = Normalizer()
    if (folder / "mean.npy").is_file():
        normalizer = Normalizer(mapped("mean.npy"), mapped("std.npy"))
    return Dataset(meta["name"], splits["train"], splits["val"], splits["test"], tuple(meta["class_names"]),
                   normalizer)


def _forget_old(root: Path) -> None:
    folders = sorted((path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")),
                     key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in folders[KEPT:]:
        shutil.rmtree(stale, ignore_errors=True)
