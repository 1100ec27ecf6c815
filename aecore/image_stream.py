"""Image folders bigger than memory: decoded once by worker threads into a uint8 cache on disk, then
read batch by batch.

A folder whose float32 images fit the memory budget (:data:`aecore.limits.MEMORY_BUDGET_BYTES`) is
loaded whole, as before. A larger one is decoded by DECODE_THREADS threads (PIL releases the GIL while
it decodes and resizes) into one uint8 file of shape (N, C, S, S): 4x smaller than float32, written
once, then read with ``pread`` at the speed of the OS page cache while it fits there, and from disk
when it does not. The process itself never holds more than a batch of it. The cache is keyed by the
folder, the image size and colour, and every file's size and modification time, so a changed folder
is decoded again; it is shared by every process on the machine (the page and the training workers)
and the KEEP_CACHES most recently used are kept.

A :class:`StreamedImages` is what a split's ``x`` holds for such a folder: it is indexed like the
(N, C, H, W) float tensor it stands for, so :func:`aecore.training.fit` takes batches from it unchanged.
A worker process is never sent one: it loads the same folder by its config (a path and parameters)
and finds the cache on disk.

Imports nothing of aecore but its leaves (limits, errors).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from aecore.errors import DataError
from aecore.limits import DISK_RESERVE_BYTES, MEMORY_BUDGET_BYTES, MIB, gigabytes

if os.name == "nt":  # Windows: no flock; msvcrt locks a byte range of the open file
    import msvcrt

    def _lock_exclusively(file) -> None:
        while True:
            try:
                msvcrt.locking(file.fileno(), msvcrt.LK_LOCK, 1)  # tries for about 10 s, then raises
                return
            except OSError:
                continue  # another process is still writing the cache: wait on
else:
    import fcntl

    def _lock_exclusively(file) -> None:
        fcntl.flock(file, fcntl.LOCK_EX)


CACHE_DIR_ENV = "AECORE_IMAGE_CACHE"
MEMORY_BUDGET_ENV = "AECORE_MEMORY_BUDGET_MB"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "aecore" / "images"
KEEP_CACHES = 4  # the most recently used image caches kept on disk
DECODE_THREADS = min(8, 2 * (os.cpu_count() or 1))
DECODE_CHUNK = 1024  # images decoded (and held) at a time while a cache is written
STATS_CHUNK = 2048  # images read at a time for a split's minimum, maximum, mean and std
CACHE_VERSION = 1

Decoder = Callable[[Path], tuple[np.ndarray | None, str | None]]  # path -> ((S, S, C) uint8, None) or (None, why)
Progress = Callable[[int, int], None]  # (images decoded, images in all)


def image_cache_dir() -> Path:
    """Where image caches go: ``AECORE_IMAGE_CACHE`` if set, else ``~/.cache/aecore/images``."""
    return Path(os.environ.get(CACHE_DIR_ENV) or DEFAULT_CACHE_DIR)


def memory_budget_bytes() -> int:
    """The bytes of float32 images a folder may hold in memory before it is streamed: ``AECORE_MEMORY_BUDGET_MB``
    (a server with memory to spare raises it; workers inherit it), else MEMORY_BUDGET_BYTES."""
    raw = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    try:
        return int(float(raw) * MIB) if raw else MEMORY_BUDGET_BYTES
    except ValueError:
        return MEMORY_BUDGET_BYTES


def free_disk_bytes(folder: Path) -> int:
    """Free bytes on the filesystem that holds ``folder`` (or its nearest existing parent)."""
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def check_disk_space(folder: Path, needed: int, what: str) -> None:
    """Refuse, with one DataError line, when writing ``needed`` bytes into ``folder`` would leave less than
    DISK_RESERVE_BYTES free on its filesystem. ``what`` names the writing: "the upload", "the image cache"."""
    free = free_disk_bytes(folder)
    if needed + DISK_RESERVE_BYTES > free:
        raise DataError(f"{what} needs {gigabytes(needed)} of disk space, but the server has only {gigabytes(free)} "
                        f"free there (and keeps {gigabytes(DISK_RESERVE_BYTES)} free); use fewer or smaller images, "
                        "or ask the server's operator for room")


@dataclass(frozen=True)
class ImageCache:
    """A uint8 file of ``count`` images of ``image_shape`` (C, S, S), one after another, and the reasons
    the images that could not be decoded were skipped (their rows hold zeros)."""

    path: Path
    count: int
    image_shape: tuple[int, int, int]
    problems: dict[int, str]  # row -> why that file could not be used

    @property
    def image_bytes(self) -> int:
        return int(np.prod(self.image_shape))

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The images at ``rows`` (any order, repeats allowed): (len(rows), C, S, S) uint8."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.empty((len(rows), *self.image_shape), dtype=np.uint8)
        if not len(rows):
            return out
        size = self.image_bytes
        with open(self.path, "rb", buffering=0) as file:
            descriptor = file.fileno()
            if rows[-1] - rows[0] == len(rows) - 1 and np.all(np.diff(rows) == 1):  # a run: one read
                out.reshape(-1)[:] = np.frombuffer(os.pread(descriptor, size * len(rows), int(rows[0]) * size),
                                                   dtype=np.uint8)
            else:
                flat = out.reshape(len(rows), -1)
                for at, row in enumerate(rows.tolist()):
                    flat[at] = np.frombuffer(os.pread(descriptor, size, row * size), dtype=np.uint8)
        return out


def cache_key(files: Sequence[Path], image_shape: tuple[int, int, int], identity: str) -> str:
    """What a cache depends on: ``identity`` (the folder and the decoding), the shape, and each file's path,
    size and modification time."""
    digest = hashlib.sha256(f"{CACHE_VERSION}|{identity}|{image_shape}".encode())
    for path in files:
        try:
            info = path.stat()
            digest.update(f"|{path}|{info.st_size}|{info.st_mtime_ns}".encode("utf-8", "surrogateescape"))
        except OSError:
            digest.update(f"|{path}|missing".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:32]


def cached_images(files: Sequence[Path], image_shape: tuple[int, int, int], decode: Decoder, *, identity: str,
                  cache_dir: Path | None = None, progress: Progress | None = None) -> ImageCache:
    """The uint8 cache of ``files`` decoded by ``decode``: found on disk, or written now by DECODE_THREADS
    threads (``progress`` is told as it goes). Two processes asking at once write it once.

    Refuses with one DataError line when the disk lacks room for it (:func:`check_disk_space`).
    """
    folder = Path(cache_dir) if cache_dir is not None else image_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    key = cache_key(files, image_shape, identity)
    data_path, index_path = folder / f"{key}.u8", folder / f"{key}.json"
    with open(folder / f"{key}.lock", "w") as lock:
        _lock_exclusively(lock)  # a second process waits here, then finds the cache written
        cache = _open_cache(data_path, index_path, len(files), image_shape)
        if cache is None:
            check_disk_space(folder, len(files) * int(np.prod(image_shape)), "the image cache")
            cache = _write_cache(files, image_shape, decode, data_path, index_path, progress)
    with contextlib.suppress(OSError):  # Windows: another process may hold it open
        (folder / f"{key}.lock").unlink(missing_ok=True)
    os.utime(index_path)  # most recently used
    _prune(folder, keep=KEEP_CACHES)
    return cache


def _open_cache(data_path: Path, index_path: Path, count: int, image_shape: tuple[int, int, int]
                ) -> ImageCache | None:
    try:
        index = json.loads(index_path.read_text())
        complete = data_path.stat().st_size == count * int(np.prod(image_shape))
    except (OSError, ValueError):
        return None
    if not complete or index.get("count") != count or tuple(index.get("image_shape", ())) != image_shape:
        return None
    return ImageCache(data_path, count, image_shape, {int(row): why for row, why in index["problems"].items()})


def _write_cache(files: Sequence[Path], image_shape: tuple[int, int, int], decode: Decoder, data_path: Path,
                 index_path: Path, progress: Progress | None) -> ImageCache:
    channels, height, width = image_shape
    size = channels * height * width
    problems: dict[int, str] = {}
    partial = data_path.with_suffix(f".part-{os.getpid()}")
    try:
        with open(partial, "wb") as sink, ThreadPoolExecutor(DECODE_THREADS, "aecore-decode") as pool:
            for start in range(0, len(files), DECODE_CHUNK):
                chunk = files[start:start + DECODE_CHUNK]
                block = np.zeros((len(chunk), channels, height, width), dtype=np.uint8)
                for at, (pixels, problem) in enumerate(pool.map(decode, chunk)):
                    if problem:
                        problems[start + at] = problem
                    else:
                        block[at] = pixels.reshape(height, width, channels).transpose(2, 0, 1)  # (S, S, C) -> (C, S, S)
                sink.write(block.tobytes())
                if progress is not None:
                    progress(start + len(chunk), len(files))
        if partial.stat().st_size != len(files) * size:
            raise DataError("the image cache could not be written completely (is the disk full?)")
        os.replace(partial, data_path)
        index_path.write_text(json.dumps({"count": len(files), "image_shape": list(image_shape),
                                          "problems": {str(row): why for row, why in problems.items()}}))
    except OSError as exc:
        raise DataError(f"the image cache could not be written ({type(exc).__name__}: {exc.strerror or exc})"
                        ) from None
    finally:
        partial.unlink(missing_ok=True)
    return ImageCache(data_path, len(files), image_shape, problems)


def _prune(folder: Path, keep: int) -> None:
    """Delete all but the ``keep`` most recently used caches in ``folder``."""
    indexes = sorted(folder.glob("*.json"), key=lambda path: _mtime(path), reverse=True)
    for index in indexes[keep:]:
        if time.time() - _mtime(index) > 60:  # never one another process has just written
            index.with_suffix(".u8").unlink(missing_ok=True)
            index.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@dataclass(frozen=True)
class StreamedImages:
    """Float images (N, C, H, W) in [0, 1] (normalised when ``mean`` and ``std`` are set) read from an
    :class:`ImageCache` batch by batch: what a split's ``x`` holds for a folder bigger than memory.

    Indexing (an int, a slice, an index array or tensor, a boolean mask) returns a float tensor on
    ``device``, like indexing the tensor it stands for; :meth:`rows` takes a subset without reading it.
    """

    cache: ImageCache
    indices: np.ndarray  # (N,) int64: rows of the cache, in this split's order
    mean: torch.Tensor | None = None  # (C, H, W)
    std: torch.Tensor | None = None  # (C, H, W)
    device: torch.device = torch.device("cpu")

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self.indices), *self.cache.image_shape))

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, int | np.integer):
            return self[np.array([index])][0]
        rows = self.indices[index] if isinstance(index, slice) else self.indices[_as_numpy(index)]
        x = torch.from_numpy(self.cache.read(rows)).to(self.device).float().div_(255.0)  # (B, C, H, W)
        if self.mean is not None:
            x = (x - self.mean.to(self.device)) / self.std.to(self.device)
        return x

    def rows(self, index) -> StreamedImages:
        """The images at ``index`` (an index array or tensor, or a boolean mask) as a new view; nothing is read."""
        return replace(self, indices=self.indices[_as_numpy(index)])

    def normalized(self, mean: torch.Tensor, std: torch.Tensor) -> StreamedImages:
        """This view with ``(x - mean) / std`` applied to every batch read."""
        return replace(self, mean=mean, std=std)

    def to(self, device: torch.device | str) -> StreamedImages:
        return replace(self, device=torch.device(device))

    def clone(self) -> StreamedImages:
        return self  # a view never changes: its images live in the cache

    def min(self) -> torch.Tensor:
        return self._extremes[0]

    def max(self) -> torch.Tensor:
        return self._extremes[1]

    def mean_std(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-pixel mean and (population) standard deviation, (C, H, W) each, in one pass in float64."""
        total = torch.zeros(self.cache.image_shape, dtype=torch.float64)
        squares = torch.zeros_like(total)
        for x in self._chunks():
            x = x.double()
            total += x.sum(dim=0)
            squares += (x * x).sum(dim=0)
        n = max(1, len(self))
        mean = total / n
        return mean.float(), (squares / n - mean * mean).clamp_min(0).sqrt().float()

    @cached_property
    def _extremes(self) -> tuple[torch.Tensor, torch.Tensor]:  # one pass, then remembered
        low, high = torch.tensor(float("inf")), torch.tensor(float("-inf"))
        for x in self._chunks():
            low, high = torch.minimum(low, x.min().cpu()), torch.maximum(high, x.max().cpu())
        return low, high

    def _chunks(self):
        for start in range(0, len(self), STATS_CHUNK):
            yield self[start:start + STATS_CHUNK]


def _as_numpy(index) -> np.ndarray:
    if isinstance(index, torch.Tensor):
        index = index.cpu().numpy()
    return np.asarray(index)
