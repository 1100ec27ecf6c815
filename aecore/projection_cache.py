"""Finished t-SNE and UMAP maps on disk, shared by every session, the CLI and the next server process.

A map is stored under a :class:`ProjectionKey`: the run folder, the time its
weights were written, the method, its parameters (:func:`aecore.projection.parameters`)
and which points it maps (a split, or all of them, sampled down to a count). A
retrained or saved-over run has new weights, hence a new key; its old maps are
never read again and age out (the MAX_FILES most recently used are kept).

Codes that belong to no run folder (a model trained in a browser session, not
saved) are keyed by the codes themselves (:meth:`ProjectionKey.of_codes`): a
hash of their float32 bytes and shape, which is all a map depends on besides
the method and its parameters.

Files are ``.npz`` (numpy arrays, never pickle), written to a temporary file
and renamed into place, so a reader sees a whole map or none. Each file holds
its key's text too: a file whose key does not match is ignored. The folder is
``AECORE_PROJECTION_CACHE`` if set, else ``~/.cache/aecore/projections``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from aecore.checkpoints import MODEL_FILE
from aecore.projection import parameters

CACHE_DIR_ENV = "AECORE_PROJECTION_CACHE"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "aecore" / "projections"
MAX_FILES = 400  # about 220 MB if every map had 70,000 points (8 bytes each)
FORMAT = 1  # bump when what a file holds changes
CODES = "codes"  # a key's run when the codes themselves name the map


@dataclass(frozen=True)
class ProjectionKey:
    """What a cached map depends on; two equal keys name the same map."""

    run: str  # the run folder, resolved; CODES for a key of the codes themselves (of_codes)
    modified: float  # when the run's weights were written (st_mtime); 0 for a key of the codes
    method: str  # "tsne" or "umap"
    parameters: tuple[tuple[str, float | int | str], ...]  # sorted (name, value) pairs
    points: str  # which codes: e.g. "all:2000/70000:seed0" (a sample of 2,000 of 70,000 images, seed 0), or a hash
    count: int  # points on the map

    @classmethod
    def of(cls, run_folder: str | Path, method: str, points: str, count: int, *, perplexity: float = 30.0,
           seed: int = 0) -> ProjectionKey:
        """The key of the ``method`` map of ``count`` codes of the run in ``run_folder`` as its weights are now."""
        folder = Path(run_folder).resolve()
        chosen = parameters(method, count, perplexity=perplexity, seed=seed)
        return cls(str(folder), (folder / MODEL_FILE).stat().st_mtime, method, tuple(sorted(chosen.items())),
                   points, count)

    @classmethod
    def of_codes(cls, codes: np.ndarray, method: str, *, perplexity: float = 30.0, seed: int = 0,
                 digest: str | None = None) -> ProjectionKey:
        """The key of the ``method`` map of exactly these codes (N, L), whatever model gave them: equal codes
        (as float32) share their map across sessions and server restarts. ``digest``: their
        :func:`codes_digest`, when already known."""
        chosen = parameters(method, len(codes), perplexity=perplexity, seed=seed)
        return cls(CODES, 0.0, method, tuple(sorted(chosen.items())), f"sha256:{digest or codes_digest(codes)}",
                   len(codes))

    def text(self) -> str:
        """The key as canonical JSON (stored in the file, and hashed into its name)."""
        return json.dumps({"format": FORMAT, **asdict(self)}, sort_keys=True)

    def file_name(self) -> str:
        """``<run>-<method>-<count>-<hash>.npz``: readable, and unique per key."""
        run = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(self.run).name)[:60]
        digest = hashlib.sha256(self.text().encode()).hexdigest()[:24]
        return f"{run}-{self.method}-{self.count}-{digest}.npz"


def codes_digest(codes: np.ndarray) -> str:
    """The SHA-256 (hex) of codes (N, L) as float32: their shape and every bit of every number."""
    codes = np.ascontiguousarray(codes, dtype=np.float32)
    digest = hashlib.sha256(str(codes.shape).encode())
    digest.update(codes.data)
    return digest.hexdigest()


def cache_dir() -> Path:
    """The folder maps are kept in (``AECORE_PROJECTION_CACHE``, else DEFAULT_CACHE_DIR)."""
    return Path(os.environ.get(CACHE_DIR_ENV) or DEFAULT_CACHE_DIR)


def path_of(key: ProjectionKey) -> Path:
    """Where the map of ``key`` is (or would be) stored."""
    return cache_dir() / key.file_name()


def load(key: ProjectionKey) -> np.ndarray | None:
    """The cached points (count, 2) float32 of ``key``, or None when there are none (or the file is not a
    whole map of this key)."""
    path = path_of(key)
    try:
        with np.load(path, allow_pickle=False) as stored:
            points, text = stored["points"], str(stored["key"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # absent, cut short, or not ours
        return None
    if text != key.text() or points.shape != (key.count, 2) or not np.isfinite(points).all():
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept longest
    return points.astype(np.float32, copy=False)


def save(key: ProjectionKey, points: np.ndarray) -> Path:
    """Store the map ``points`` (count, 2) of ``key`` atomically; returns its path."""
    points = np.asarray(points, dtype=np.float32)
    if points.shape != (key.count, 2):
        raise ValueError(f"a map of {key.count} points has shape ({key.count}, 2), not {points.shape}")
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = path_of(key)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as handle:  # a file object: given a name, savez would add ".npz"
            np.savez(handle, points=points, key=np.array(key.text()))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; the cache is shared by whoever runs the server or CLI
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _prune(folder)
    return target


def _prune(folder: Path) -> None:
    """Delete all but the MAX_FILES most recently used maps."""
    maps = []
    for path in folder.glob("*.npz"):
        with contextlib.suppress(OSError):  # another process may be pruning too
            maps.append((path.stat().st_mtime, path))
    for _, path in sorted(maps, reverse=True)[MAX_FILES:]:
        path.unlink(missing_ok=True)
