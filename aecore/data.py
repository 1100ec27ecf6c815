"""Datasets, offline first: bundled MNIST, Fashion-MNIST, toy sets and image folders.

Every dataset becomes a :class:`Dataset` of three in-memory splits (train,
validation, test), each one float32 tensor of shape (N, C, H, W) plus int64
labels, so training takes batches by indexing (no DataLoader, no per-sample
Python). An image folder too large for the memory budget is the one exception:
its splits hold :class:`aecore.image_stream.StreamedImages`, indexed the same
way, read batch by batch from a uint8 cache on disk. Loading never touches the
network (nothing is ever downloaded), and nothing is read at import time.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812  (PyTorch convention)

from aecore.config import DataConfig
from aecore.errors import DataError
from aecore.image_stream import Progress, StreamedImages, cached_images, memory_budget_bytes
from aecore.limits import MAX_FILES, MAX_IMAGE_PIXELS, MAX_NAME_BYTES, MAX_NAME_CHARS, gigabytes

MNIST_DIR = Path(__file__).parent / "bundled" / "mnist"
FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_COPY_DIR = Path.home() / ".cache" / "aecore" / "fashion-mnist"  # for machines without the package

# md5 of the *uncompressed* IDX files (../shared/data/README.md); the .gz bytes differ from the originals.
MNIST_FILES = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
FOLDER_PREFIX = "folder:"
DEFAULT_FOLDER_IMAGE_SIZE = 64
TEST_FRACTION = 0.2  # held out of sets that come without a test split


@dataclass(frozen=True)
class Split:
    """One split: ``x`` (N, C, H, W) float32 and ``y`` (N,) int64."""

    x: torch.Tensor
    y: torch.Tensor
    names: tuple[str, ...] | None = None  # file names, for image folders

    def __len__(self) -> int:
        return self.x.shape[0]


@dataclass(frozen=True)
class Normalizer:
    """Maps pixels in [0, 1] to model inputs and back; identity for ``unit``.

    ``standard`` subtracts a per-pixel mean and divides by a per-pixel std, both
    fitted on the training split only (lecture 001's StandardScaler).
    """

    mean: torch.Tensor | None = None  # (C, H, W)
    std: torch.Tensor | None = None  # (C, H, W)

    @classmethod
    def fit(cls, kind: str, train_x: torch.Tensor) -> Normalizer:
        if kind == "unit":
            return cls()
        if isinstance(train_x, StreamedImages):
            return cls(*(_constant_pixels_kept(*train_x.mean_std())))
        mean = train_x.mean(dim=0)
        std = train_x.std(dim=0, unbiased=False)
        return cls(*_constant_pixels_kept(mean, std))

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(x, StreamedImages) and self.mean is not None:
            return x.normalized(self.mean, self.std)
        return x if self.mean is None else (x - self.mean.to(x.device)) / self.std.to(x.device)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        """Back to pixels in [0, 1] for display."""
        if self.mean is None:
            return x
        return (x * self.std.to(x.device) + self.mean.to(x.device)).clamp(0.0, 1.0)


def _constant_pixels_kept(mean: torch.Tensor, std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return mean, torch.where(std < 1e-8, torch.ones_like(std), std)  # constant pixels: as sklearn


@dataclass(frozen=True)
class Dataset:
    """A prepared dataset: train / validation / test splits, ready on one device."""

    name: str
    train: Split
    val: Split
    test: Split
    class_names: tuple[str, ...]
    normalizer: Normalizer = field(default_factory=Normalizer)
    skipped: tuple[tuple[str, str], ...] = ()  # (file, reason) for images that could not be read
    loading: str = ""  # for image folders: held in memory or streamed, and why

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.x.shape[1:])

    @property
    def value_range(self) -> tuple[float, float]:
        """Range of the (normalised) training inputs; corrupted inputs are clipped to it."""
        return float(self.train.x.min()), float(self.train.x.max())

    def to(self, device: torch.device | str) -> Dataset:
        """The same dataset with every tensor on ``device``."""
        move = lambda s: Split(s.x.to(device), s.y.to(device), s.names)  # noqa: E731
        return replace(self, train=move(self.train), val=move(self.val), test=move(self.test))


@dataclass(frozen=True)
class RawData:
    """What a dataset loader returns: pixels in [0, 1], before subsetting and splitting."""

    train_x: torch.Tensor  # (N, C, H, W) float32
    train_y: torch.Tensor  # (N,) int64
    test_x: torch.Tensor
    test_y: torch.Tensor
    class_names: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    train_names: tuple[str, ...] | None = None  # file names, for image folders
    test_names: tuple[str, ...] | None = None
    loading: str = ""  # for image folders: held in memory or streamed, and why


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    loader: Callable[[DataConfig], RawData]
    native_shape: tuple[int, int, int]  # (C, H, W) before any resize or colour conversion
    test_loader: Callable[[DataConfig], tuple[torch.Tensor, torch.Tensor]] | None = None  # test pixels and labels


_DATASETS: dict[str, DatasetInfo] = {}


def register_dataset(name: str, description: str, native_shape: tuple[int, int, int],
                     test_loader: Callable[[DataConfig], tuple[torch.Tensor, torch.Tensor]] | None = None):
    """Decorator registering ``loader(config) -> RawData`` under ``name``; ``test_loader(config) -> (x, y)``,
    when given, reads the test split alone (for :func:`load_test_pixels`)."""

    def wrapper(loader: Callable[[DataConfig], RawData]) -> Callable[[DataConfig], RawData]:
        if name in _DATASETS:
            raise ValueError(f"a dataset named {name!r} is already registered")
        _DATASETS[name] = DatasetInfo(name, description, loader, native_shape, test_loader)
        return loader

    return wrapper


def expected_input_shape(config: DataConfig) -> tuple[int, int, int] | None:
    """The (C, H, W) that ``config`` will give, without loading anything; None for image folders."""
    info = _DATASETS.get(config.name)
    if info is None:
        if not config.name.startswith(FOLDER_PREFIX):
            return None
        channels, side = (1 if config.color == "grey" else 3), config.image_size or DEFAULT_FOLDER_IMAGE_SIZE
        return channels, side, side
    channels, height, width = info.native_shape
    channels = {"grey": 1, "rgb": 3}.get(config.color, channels)
    if config.image_size is not None:
        height = width = config.image_size
    return channels, height, width


def list_datasets() -> list[DatasetInfo]:
    """The registered datasets (``folder:PATH`` is accepted too, for any image folder)."""
    return list(_DATASETS.values())


def load_dataset(config: DataConfig, device: torch.device | str = "cpu", *, memory_budget: int | None = None,
                 progress: Progress | None = None) -> Dataset:
    """Load, subset, split and normalise the dataset ``config`` describes, on ``device``.

    An image folder whose float32 images would take more than ``memory_budget`` bytes (default
    :func:`aecore.image_stream.memory_budget_bytes`) is streamed from a uint8 cache on disk
    (:mod:`aecore.image_stream`); ``progress`` hears how many of its images are decoded.
    """
    raw = _load_raw(config, memory_budget, progress)
    train_x, train_y, test_x, test_y = raw.train_x, raw.train_y, raw.test_x, raw.test_y
    train_names = np.array(raw.train_names if raw.train_names is not None else [""] * len(train_y), dtype=object)
    test_names = np.array(raw.test_names if raw.test_names is not None else [""] * len(test_y), dtype=object)
    if config.classes is not None:
        present = set(train_y.unique().tolist())
        missing = sorted(set(config.classes) - present)
        if missing:
            raise DataError(f"dataset {config.name!r} has no class(es) {missing}; "
                            f"its labels are {sorted(present)}")
        keep = torch.tensor(config.classes)
        train_mask, test_mask = torch.isin(train_y, keep), torch.isin(test_y, keep)
        train_x, train_y, train_names = _rows(train_x, train_mask), train_y[train_mask], train_names[train_mask.numpy()]
        test_x, test_y, test_names = _rows(test_x, test_mask), test_y[test_mask], test_names[test_mask.numpy()]
    generator = torch.Generator().manual_seed(config.seed)
    order = torch.randperm(len(train_y), generator=generator)
    n_keep = max(1, round(config.fraction * len(order)))
    n_val = math.floor(config.val_fraction * n_keep + 1e-9)  # 0.29 * 100 is 28.999...
    val_idx, train_idx = order[:n_val], order[n_val:n_keep]
    if len(train_idx) == 0:
        raise DataError(f"dataset {config.name!r} has too few images ({n_keep}) for a validation split of "
                        f"{config.val_fraction}; lower val_fraction or raise fraction")
    # indexing copies, so the cached raw tensors are never shared with the caller
    train_x, val_x, test_x = (_reshape(t, config) for t in (_rows(train_x, train_idx), _rows(train_x, val_idx),
                                                            test_x.clone()))
    normalizer = Normalizer.fit(config.normalization, train_x)
    named = raw.train_names is not None
    names = lambda array, idx=None: tuple(array if idx is None else array[idx.numpy()]) if named else None  # noqa: E731
    return Dataset(
        name=config.name,
        train=Split(normalizer.apply(train_x), train_y[train_idx], names(train_names, train_idx)),
        val=Split(normalizer.apply(val_x), train_y[val_idx], names(train_names, val_idx)),
        test=Split(normalizer.apply(test_x), test_y, names(test_names)),
        class_names=raw.class_names,
        normalizer=normalizer,
        skipped=raw.skipped,
        loading=raw.loading,
    ).to(device)


def load_test_pixels(config: DataConfig) -> Split:
    """The test split of ``config`` as pixels in [0, 1], its classes, colour and size applied, not normalised.

    Datasets registered with a ``test_loader`` (bundled MNIST) read only their test files (~0.05 s, against
    ~0.5 s for :func:`load_dataset`): what a first page showing a few test images needs. Others load whole.
    """
    info = _DATASETS.get(config.name)
    if info is not None and info.test_loader is not None:
        x, y = info.test_loader(config)
        names = None
    else:
        raw = _load_raw(config)
        x, y, names = raw.test_x, raw.test_y, raw.test_names
    if config.classes is not None:
        keep = torch.isin(y, torch.tensor(config.classes))
        x, y = _rows(x, keep), y[keep]
        names = None if names is None else tuple(np.array(names, dtype=object)[keep.numpy()])
    return Split(_reshape(x, config).clone(), y.clone(), names)  # never the cached raw tensors themselves


def _rows(x: torch.Tensor | StreamedImages, index: torch.Tensor) -> torch.Tensor | StreamedImages:
    """``x[index]``: a copy of a tensor's rows, a view of streamed images (nothing read)."""
    return x.rows(index) if isinstance(x, StreamedImages) else x[index]


def _load_raw(config: DataConfig, memory_budget: int | None = None, progress: Progress | None = None) -> RawData:
    if config.name.startswith(FOLDER_PREFIX):
        return load_image_folder(Path(config.name[len(FOLDER_PREFIX):]), config, memory_budget=memory_budget,
                                 progress=progress)
    info = _DATASETS.get(config.name)
    if info is None:
        known = ", ".join(sorted(_DATASETS))
        raise DataError(f"unknown dataset {config.name!r}; known: {known}, or {FOLDER_PREFIX}PATH")
    return info.loader(config)


def _reshape(x: torch.Tensor, config: DataConfig) -> torch.Tensor:
    """Apply the config's colour mode and square resize to (N, C, H, W) pixels in [0, 1]."""
    if config.color == "rgb" and x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1).contiguous()
    elif config.color == "grey" and x.shape[1] == 3:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)  # ITU-R 601 luma
    size = config.image_size
    if size is not None and x.shape[-2:] != (size, size) and len(x):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    return x


# ---------------------------------------------------------------------------------------- IDX files


def read_idx(path: Path, expected_md5: str | None = None) -> np.ndarray:
    """Read a gzipped IDX file (MNIST's format) into a uint8 array, checking the md5 of its bytes."""
    if not path.is_file():
        raise DataError(f"{path} is missing")
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise DataError(f"{path} is corrupt: it is not a readable gzip file ({exc})") from None
    if expected_md5 is not None and hashlib.md5(raw).hexdigest() != expected_md5:
        raise DataError(f"{path} is corrupt: the md5 of its uncompressed bytes is not {expected_md5}")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)):
        raise DataError(f"{path} is truncated: its header promises {tuple(dims)} values")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(tuple(dims))


def _idx_pair(directory: Path, prefix: str, md5s: dict[str, str] | None) -> tuple[torch.Tensor, torch.Tensor]:
    images_name, labels_name = f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"
    images = read_idx(directory / f"{images_name}.gz", md5s and md5s[images_name])
    labels = read_idx(directory / f"{labels_name}.gz", md5s and md5s[labels_name])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{directory}: {images_name} and {labels_name} do not describe the same images")
    x = torch.from_numpy(images.copy()).unsqueeze(1).float().div_(255.0)  # (N, 1, 28, 28) in [0, 1]
    return x, torch.from_numpy(labels.astype(np.int64))


_idx_lock = threading.Lock()


def _read_idx_split(directory: Path, prefix: str, md5s: tuple[tuple[str, str], ...] | None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    with _idx_lock:  # two threads asking at once (a page and the start-up preload) read the files once
        return _read_idx_split_cached(directory, prefix, md5s)


@lru_cache(maxsize=8)
def _read_idx_split_cached(directory: Path, prefix: str, md5s: tuple[tuple[str, str], ...] | None
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    return _idx_pair(directory, prefix, dict(md5s) if md5s else None)


@lru_cache(maxsize=4)
def _read_idx_dataset(directory: Path, md5s: tuple[tuple[str, str], ...] | None) -> RawData:
    train_x, train_y = _read_idx_split(directory, "train", md5s)
    test_x, test_y = _read_idx_split(directory, "t10k", md5s)
    return RawData(train_x, train_y, test_x, test_y, tuple(str(i) for i in range(10)))


def _mnist_test_split(config: DataConfig | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    return _read_idx_split(MNIST_DIR, "t10k", tuple(MNIST_FILES.items()))


@register_dataset("mnist", "MNIST handwritten digits, 60,000 train / 10,000 test, 28x28 grey (bundled)",
                  (1, 28, 28), test_loader=_mnist_test_split)
def load_mnist(config: DataConfig | None = None, directory: Path = MNIST_DIR) -> RawData:
    """The bundled MNIST IDX files, md5-checked."""
    return _read_idx_dataset(Path(directory), tuple(MNIST_FILES.items()))


@register_dataset("fashion-mnist", "Fashion-MNIST clothes, 60,000 / 10,000, 28x28 grey "
                                   "(Debian's dataset-fashion-mnist package, never downloaded)", (1, 28, 28))
def load_fashion_mnist(config: DataConfig | None = None) -> RawData:
    """Fashion-MNIST's four IDX files from Debian's package or a copy in ``FASHION_MNIST_COPY_DIR``."""
    directory = next((d for d in (FASHION_MNIST_DEBIAN_DIR, FASHION_MNIST_COPY_DIR)
                      if (d / "train-images-idx3-ubyte.gz").is_file()), None)
    if directory is None:
        raise DataError(
            f"Fashion-MNIST is not on this machine, and Autoencoder Lab never downloads data. Install Debian's "
            f"package (sudo apt-get install dataset-fashion-mnist, files in {FASHION_MNIST_DEBIAN_DIR}) or copy "
            f"its four *-ubyte.gz IDX files into {FASHION_MNIST_COPY_DIR}")
    return replace(_read_idx_dataset(directory, None), class_names=FASHION_CLASSES)


# ---------------------------------------------------------------------------------------- toy sets

# Lecture 002's five binary 3x3 patterns x1..x5.
BINARY_PATTERNS = (
    ((1, 1, 1), (0, 0, 0), (0, 0, 0)),
    ((1, 0, 0), (1, 0, 0), (1, 0, 0)),
    ((0, 0, 1), (0, 1, 0), (1, 0, 0)),
    ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    ((1, 0, 0), (1, 0, 0), (1, 1, 1)),
)


@register_dataset("patterns-3x3", "lecture 002's five binary 3x3 patterns (train = test)", (1, 3, 3))
def load_patterns(config: DataConfig | None = None) -> RawData:
    x = torch.tensor(BINARY_PATTERNS, dtype=torch.float32).unsqueeze(1)  # (5, 1, 3, 3)
    y = torch.arange(len(BINARY_PATTERNS))
    return RawData(x, y, x.clone(), y.clone(), tuple(f"x{i + 1}" for i in range(len(y))))


@register_dataset("random-10x10", "seeded uniform-random 10x10 images (lecture 002; n_samples, seed)",
                  (1, 10, 10))
def load_random_images(config: DataConfig) -> RawData:
    generator = torch.Generator().manual_seed(config.seed)
    n_test = max(1, round(TEST_FRACTION * config.n_samples))
    x = torch.rand(config.n_samples + n_test, 1, 10, 10, generator=generator)
    y = torch.zeros(len(x), dtype=torch.int64)
    return RawData(x[:config.n_samples], y[:config.n_samples], x[config.n_samples:], y[config.n_samples:],
                   ("random",))


@register_dataset("digits", "scikit-learn's 1,797 8x8 digits (tiny; for fast tests and demos)", (1, 8, 8))
def load_digits(config: DataConfig) -> RawData:
    from sklearn.datasets import load_digits as sklearn_digits  # bundled with scikit-learn, offline

    bunch = sklearn_digits()
    x = torch.from_numpy(bunch.images).float().div_(16.0).unsqueeze(1)  # (1797, 1, 8, 8), 0..16 -> [0, 1]
    y = torch.from_numpy(bunch.target.astype(np.int64))
    return _holdout(x, y, tuple(str(i) for i in range(10)), seed=config.seed, test_fraction=config.test_fraction)


def _holdout(x: torch.Tensor, y: torch.Tensor, class_names: tuple[str, ...], seed: int,
             skipped: tuple[tuple[str, str], ...] = (), names: tuple[str, ...] | None = None,
             test_fraction: float = TEST_FRACTION) -> RawData:
    """Split a set without a test split into train and a seeded ``test_fraction`` test part."""
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed + 1))
    n_test = min(len(x) - 1, max(1, round(test_fraction * len(x)))) if len(x) > 1 else 0
    test, train = order[:n_test], order[n_test:]
    pick = (lambda idx: tuple(names[i] for i in idx.tolist())) if names is not None else (lambda idx: None)
    return RawData(_rows(x, train), y[train], _rows(x, test), y[test], class_names, skipped, pick(train), pick(test))


# ---------------------------------------------------------------------------------------- image folders

# Punctuation a name keeps; the rest ('*', '[', '$', '`', '<', ...) would be read as Markdown, math or HTML.
NAME_PUNCTUATION = frozenset(" _-.,()+&'!=@")


def safe_name(name: str | bytes, *, path_part: bool = True) -> str:
    """A class or file name that every page can show and, with ``path_part``, a folder or file name on disk.

    The one sanitiser applied where names enter: folder reading, uploads and run files. Undecodable
    bytes (in ``bytes``, or the surrogate escapes ``os.listdir`` gives for them) become U+FFFD;
    format characters (right-to-left overrides, zero-width marks) are dropped; controls and
    markup punctuation become '_', other whitespace a space; letters, digits and symbols of any
    script are kept. Long names are cut to MAX_NAME_CHARS characters and MAX_NAME_BYTES UTF-8
    bytes, ending in '…'. With ``path_part``, '/' and '\\' become '_' too and leading and trailing
    dots, dashes and underscores go, so the result is never hidden, '.', '..' or empty.
    """
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    name = unicodedata.normalize("NFC", name)
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if category == "Cf":
            continue
        if category == "Cs":
            kept.append("\ufffd")
        elif category[0] == "Z" or char in "\t\n\r\v\f":
            kept.append(" ")
        elif category[0] in "LMN" or category == "So" or char in NAME_PUNCTUATION or (char == "/" and not path_part):
            kept.append(char)
        else:
            kept.append("_")
    text = " ".join("".join(kept).split())
    if path_part:
        text = text.strip(" ._-")
    if len(text) > MAX_NAME_CHARS or len(text.encode()) > MAX_NAME_BYTES:
        text = text[:MAX_NAME_CHARS - 1]
        while len(text.encode()) > MAX_NAME_BYTES - 3:  # "…" is 3 bytes
            text = text[:-1]
        text = text.rstrip() + "…"
    return text or "unnamed"


def load_image_folder(root: Path, config: DataConfig, *, memory_budget: int | None = None,
                      progress: Progress | None = None) -> RawData:
    """A labelled image folder: ``root/<class name>/<image files>``.

    Images are converted to RGB (or grey with ``color="grey"``), centre-cropped
    to a square and resized to ``image_size`` (default 64); 16-bit, CMYK, palette
    and transparent images are converted. Files that cannot be used (not an
    image, empty, truncated, corrupt, too large, a link leading out of ``root``)
    and empty class folders are skipped and listed in ``RawData.skipped`` with
    the reason. Reading never leaves ``root``: links are followed only to places
    inside it. Class and file names are made safe with :func:`safe_name`. A folder
    of more than MAX_FILES files is refused whole.

    Images whose float32 pixels fit ``memory_budget`` bytes (default:
    :func:`aecore.image_stream.memory_budget_bytes`) are held in memory; more are decoded by
    worker threads into a uint8 cache on disk and the splits read it batch by batch
    (:class:`aecore.image_stream.StreamedImages`). Both give the same images, labels and names
    in the same order; ``RawData.loading`` says which was taken and why.
    """
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist or is not a folder")
    real_root = root.resolve()

    def relative(path: Path) -> str:  # inside root, as a user reads it: safe names
        return "/".join(safe_name(part) for part in path.relative_to(root).parts)

    def shown(path: Path) -> str:
        return str(root / relative(path))

    skipped: list[tuple[str, str]] = []
    class_dirs = []
    try:
        for entry in sorted(root.iterdir()):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            if _inside(entry, real_root, strictly=True):
                class_dirs.append(entry)
            else:
                skipped.append((shown(entry), "a link that leads out of the folder: not followed"))
    except OSError as exc:  # no permission to list or look inside it
        raise DataError(f"image folder {root} cannot be read ({type(exc).__name__})") from None
    if not class_dirs:
        raise DataError(f"image folder {root} has no class sub-folders (expected {root}/<class>/<images>)")
    files = _folder_files(class_dirs, root, real_root, skipped, shown)
    size = config.image_size or DEFAULT_FOLDER_IMAGE_SIZE
    mode = "L" if config.color == "grey" else "RGB"
    flat = [path for paths in files.values() for path in paths]
    candidates = sum(path.suffix.lower() in IMAGE_SUFFIXES for path in flat)
    float_bytes = candidates * len(mode) * size * size * 4  # the (N, C, S, S) float32 tensor the images become
    budget = memory_budget_bytes() if memory_budget is None else memory_budget
    decode = lambda path: _read_image(path, size, mode)  # noqa: E731
    what = f"{candidates:,} images of {size}x{size} {mode}"
    if float_bytes <= budget:
        decoded = [decode(path) for path in flat]
        problems = {row: problem for row, (_, problem) in enumerate(decoded) if problem}
        loading = (f"In memory: {what} take {gigabytes(float_bytes)} as float32, within the "
                   f"{gigabytes(budget)} memory budget.")
    else:
        cache = cached_images(flat, (len(mode), size, size), decode, identity=f"{real_root}|{size}|{mode}",
                              progress=progress)
        problems = cache.problems
        loading = (f"Streamed: {what} would take {gigabytes(float_bytes)} as float32, over the {gigabytes(budget)} "
                   f"memory budget; they are decoded once into a {gigabytes(float_bytes // 4)} uint8 cache on disk "
                   "and read batch by batch.")
    per_class: list[tuple[str, list[int], list[str]]] = []  # class name, rows of flat, file names
    taken: set[str] = set()
    row = 0
    for class_dir, paths in files.items():
        rows, names = [], []
        for path in paths:
            if row in problems:
                skipped.append((shown(path), problems[row]))
            else:
                rows.append(row)
                names.append(relative(path))
            row += 1
        if not rows:
            skipped.append((shown(class_dir), "no usable images in this class folder"))
            continue
        class_name = base = safe_name(class_dir.name)
        number = 2
        while class_name in taken:  # two folder names that are the same once made safe stay two classes
            class_name, number = f"{base}-{number}", number + 1
        taken.add(class_name)
        per_class.append((class_name, rows, names))
    if not per_class:
        raise DataError(f"image folder {root} has no readable images in {', '.join(IMAGE_SUFFIXES)}")
    good = [row for _, rows, _ in per_class for row in rows]
    if float_bytes <= budget:
        x = torch.from_numpy(np.stack([decoded[row][0] for row in good]))
        del decoded
        x = x.permute(0, 3, 1, 2).float().div_(255.0)  # (N, S, S, C) uint8 -> (N, C, S, S) in [0, 1]
    else:
        x = StreamedImages(cache, np.array(good, dtype=np.int64))
    y = torch.tensor([label for label, (_, rows, _) in enumerate(per_class) for _ in rows], dtype=torch.int64)
    names = tuple(name for _, _, class_names in per_class for name in class_names)
    raw = _holdout(x, y, tuple(name for name, _, _ in per_class), seed=config.seed, skipped=tuple(skipped),
                   names=names, test_fraction=config.test_fraction)
    return replace(raw, loading=loading)


def _inside(path: Path, real_root: Path, *, strictly: bool = False) -> bool:
    """Whether ``path``, all links followed, lies inside ``real_root`` (a resolved folder)."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError):  # a link loop, an unreadable link
        return False
    return real != real_root and real.is_relative_to(real_root) if strictly else real.is_relative_to(real_root)


def _folder_files(class_dirs: list[Path], root: Path, real_root: Path, skipped: list[tuple[str, str]],
                  shown: Callable[[Path], str]) -> dict[Path, list[Path]]:
    """Each class folder's regular files that stay inside ``real_root``, sorted; the rest go to ``skipped``.

    Links to folders are not descended into; links to files are read only when they resolve inside the
    root. Raises DataError past MAX_FILES files in the whole folder, before reading any image.
    """
    files: dict[Path, list[Path]] = {}
    count = 0
    for class_dir in class_dirs:
        found = files[class_dir] = []
        for directory, subdirs, file_names in os.walk(class_dir, followlinks=False):
            here = Path(directory)
            for name in list(subdirs):
                if name.startswith(".") or (here / name).is_symlink():
                    subdirs.remove(name)
                    if not name.startswith("."):
                        skipped.append((shown(here / name), "a link to a folder: not followed"))
            count += len(file_names)
            if count > MAX_FILES:
                raise DataError(f"image folder {root} holds more than {MAX_FILES:,} files; at most "
                                f"{MAX_FILES:,} are read")
            for name in file_names:
                path = here / name
                if name.startswith("."):
                    continue
                problem = _folder_file_problem(path, real_root)
                if problem:
                    skipped.append((shown(path), problem))
                else:
                    found.append(path)
        found.sort()
    return files


def _folder_file_problem(path: Path, real_root: Path) -> str | None:
    """Why the file at ``path`` in a folder must not be read, or None."""
    if not _inside(path, real_root):
        return "a link that leads out of the folder: not followed"
    try:
        regular = path.is_file()
    except OSError:
        return "cannot be read (no permission)"
    return None if regular else "not a regular file (a device, pipe or socket)"


def _read_image(path: Path, size: int, mode: str) -> tuple[np.ndarray | None, str | None]:
    """(pixels (size, size, C) uint8, None), or (None, the reason the file cannot be used)."""
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return None, "not an image file type"
    try:
        if path.stat().st_size == 0:
            return None, "empty file"
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    return None, (f"too large ({image.width} x {image.height} pixels; at most "
                                  f"{MAX_IMAGE_PIXELS / 1e6:,.0f} million)")
                image = _as_mode(ImageOps.exif_transpose(image), mode)
                image = ImageOps.fit(image, (size, size))
                return np.asarray(image, dtype=np.uint8).reshape(size, size, -1), None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, "too large to decode safely (a possible decompression bomb)"
    except UnidentifiedImageError:
        return None, "not a readable image"
    except PermissionError:
        return None, "cannot be read (no permission)"
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated, corrupt, unsupported
        return None, f"damaged or unsupported image ({type(exc).__name__})"


def _as_mode(image, mode: str):
    """Convert any PIL image to "L" or "RGB": 16-bit and float images are scaled to 8 bits, transparent
    pixels are put on white, CMYK and palette images are converted."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        values = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
        image = Image.fromarray(values.astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image.convert(mode)
