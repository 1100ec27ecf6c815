"""The class board's registry: every browser session's training job on this server, under an anonymous name.

Each session's job is registered once (:meth:`ClassBoard.register`) and gets a
name from a seeded list of words ("Blue Otter"), never anything of the student's.
The board holds a job by a weak reference only: a job that is garbage-collected
leaves the board. A job whose session ended (:meth:`ClassBoard.retire`) stays
on the board, frozen, for ``linger_s`` seconds (the teacher can still look at a
finished run of a tab that was just closed), then leaves it.

Runs on someone's own images (a ``folder:`` dataset) are shown only while their
owner shares them (:meth:`ClassBoard.set_shared`). Compare needs a run folder
that nobody writes to: :meth:`ClassBoard.compare_copy` copies a job's model into
the board's own folder (weights, config, history; no optimiser state), which
lasts as long as the entry and at most :data:`MAX_COPIES` copies.

Everything here is thread-safe: many sessions' scripts register, list and copy
at once. Nothing here imports streamlit; any object with ``snapshot()`` can be
registered.
"""

from __future__ import annotations

import itertools
import random
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aecore.checkpoints import MODEL_FILE, OPTIMIZER_FILE
from aecore.config import RunConfig

LINGER_S = 600.0  # how long a run stays on the board after its session ended
MAX_COPIES = 24  # run folders copied for Compare, over the whole board (the oldest go first)
OWN_IMAGES_PREFIX = "folder:"  # the dataset name of runs on a user's own images

COLOURS = ("Blue", "Red", "Green", "Amber", "Coral", "Golden", "Silver", "Violet", "Teal", "Crimson",
           "Indigo", "Olive", "Scarlet", "Ivory", "Jade", "Ruby", "Saffron", "Cobalt", "Copper", "Plum")
ANIMALS = ("Otter", "Fox", "Heron", "Lynx", "Panda", "Falcon", "Badger", "Koala", "Marten", "Owl", "Puffin",
           "Seal", "Tiger", "Walrus", "Wren", "Yak", "Zebra", "Bison", "Crane", "Dolphin", "Gecko", "Hare",
           "Ibis", "Jaguar")


def uses_own_images(config: RunConfig | None) -> bool:
    """True for a run on a user's own images (an uploaded or server folder), which only its owner may share."""
    return config is not None and config.data.name.startswith(OWN_IMAGES_PREFIX)


@dataclass(frozen=True)
class BoardEntry:
    """One session's job on the board, as a page lists it. ``ended``: its session is over (the run is frozen)."""

    id: int
    name: str
    job: Any
    shared: bool
    ended: bool

    def shown(self, config: RunConfig | None) -> bool:
        """Whether a run of ``config`` may be shown: any run but one on own images its owner does not share."""
        return self.shared or not uses_own_images(config)


@dataclass
class _Copy:
    folder: Path
    source_modified: float
    label: str
    own_images: bool
    made: int  # the order copies were made in: the oldest go first


@dataclass
class _Entry:
    id: int
    name: str
    ref: weakref.ref
    job_key: int  # id() of the job
    shared: bool = False
    ended_at: float | None = None
    keep: Any = None  # a strong reference while the entry lingers after its session ended
    copies: list[_Copy] = field(default_factory=list)


class ClassBoard:
    """The process's registry of sessions' jobs (see the module's docstring); ``clock`` and ``seed`` for tests."""

    def __init__(self, linger_s: float = LINGER_S, *, seed: int = 0, max_copies: int = MAX_COPIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._linger_s, self._max_copies, self._clock = linger_s, max_copies, clock
        self._names = [f"{colour} {animal}" for colour, animal in itertools.product(COLOURS, ANIMALS)]
        random.Random(seed).shuffle(self._names)
        self._next_name = 0
        self._ids = itertools.count(1)
        self._entries: dict[int, _Entry] = {}  # by entry id, in registration order
        self._by_job: dict[int, int] = {}  # id(job) -> entry id, for live jobs
        self._lock = threading.Lock()  # guards everything above; never held while copying or deleting files
        self._copy_lock = threading.Lock()  # one copy at a time
        self._root: Path | None = None  # the folder of the copies for Compare, made on first use
        self._copies_made = itertools.count()

    # ------------------------------------------------------------------------------ sessions

    def register(self, job: Any, name: str | None = None) -> str:
        """Put ``job`` on the board (again: nothing changes) and return its anonymous name: ``name`` when given (the
        name its owner had before a server restart), else the next free one."""
        with self._lock:
            entry = self._live_entry(job)
            if entry is None:
                entry = _Entry(next(self._ids), name or self._new_name(), weakref.ref(job), id(job))
                self._entries[entry.id] = entry
                self._by_job[id(job)] = entry.id
            return entry.name

    def retire(self, job: Any) -> None:
        """``job``'s session ended: its entry stays, frozen, for ``linger_s`` seconds, then leaves the board."""
        with self._lock:
            entry = self._live_entry(job)
            if entry is not None:
                del self._by_job[id(job)]
                entry.ended_at, entry.keep = self._clock(), job

    def name_of(self, job: Any) -> str | None:
        """The anonymous name of a registered, live ``job``; None otherwise."""
        with self._lock:
            entry = self._live_entry(job)
            return entry.name if entry is not None else None

    def set_shared(self, job: Any, shared: bool) -> None:
        """Whether ``job``'s runs on its owner's own images may be shown on the board (and in Compare)."""
        with self._lock:
            entry = self._live_entry(job)
            if entry is not None:
                entry.shared = bool(shared)

    def is_shared(self, job: Any) -> bool:
        """Whether ``job``'s owner shares its runs on their own images (see :meth:`set_shared`)."""
        with self._lock:
            entry = self._live_entry(job)
            return entry is not None and entry.shared

    def entries(self) -> list[BoardEntry]:
        """The entries now, in the order they were registered; drops the collected and the expired ones."""
        gone: list[_Entry] = []
        listed: list[BoardEntry] = []
        now = self._clock()
        with self._lock:
            for entry in list(self._entries.values()):
                job = entry.ref()
                expired = entry.ended_at is not None and now - entry.ended_at >= self._linger_s
                if job is None or expired:
                    gone.append(self._entries.pop(entry.id))
                    if self._by_job.get(entry.job_key) == entry.id:
                        del self._by_job[entry.job_key]
                    continue
                listed.append(BoardEntry(entry.id, entry.name, job, entry.shared, entry.ended_at is not None))
        for entry in gone:
            _remove_copies(entry.copies)
        return listed

    # ------------------------------------------------------------------------------ copies for Compare

    def compare_copy(self, entry: BoardEntry, source: Path, label: str) -> Path:
        """A run folder holding the model of ``source`` (a run folder of ``entry``'s job) that only the board
        writes: made once per version of the weights, named ``label`` (e.g. "Blue Otter, epoch 5")."""
        modified = (source / MODEL_FILE).stat().st_mtime
        own_images = uses_own_images(entry.job.snapshot().config)
        with self._copy_lock:
            with self._lock:
                record = self._entries.get(entry.id)
                if record is None:
                    raise KeyError(f"{entry.name} has left the board")
                for copy in record.copies:
                    if copy.source_modified == modified and copy.folder.is_dir():
                        return copy.folder
                root = self._copies_root()
            folder = _unique_folder(root, _slug(label))
            _copy_model(source, folder)
            with self._lock:
                record.copies.append(_Copy(folder, modified, label, own_images, next(self._copies_made)))
                stale = self._over_cap()
        _remove_copies(stale)
        return folder

    def compare_runs(self) -> list[Path]:
        """The folders copied for Compare that may be shown now (not those of own images no longer shared)."""
        with self._lock:
            return [copy.folder for entry in self._entries.values() for copy in entry.copies
                    if entry.shared or not copy.own_images]

    def label_of(self, folder: Path) -> str | None:
        """The label of a folder copied for Compare; None for any other folder."""
        with self._lock:
            for entry in self._entries.values():
                for copy in entry.copies:
                    if copy.folder == Path(folder):
                        return copy.label
        return None

    # ------------------------------------------------------------------------------ inside (lock held)

    def _live_entry(self, job: Any) -> _Entry | None:
        entry = self._entries.get(self._by_job.get(id(job), -1))
        if entry is None or entry.ref() is not job:  # an id() reused by a new object
            return None
        return entry

    def _new_name(self) -> str:
        taken = {entry.name for entry in self._entries.values()}
        while True:
            index, self._next_name = self._next_name, self._next_name + 1
            base = self._names[index % len(self._names)]
            name = base if index < len(self._names) else f"{base} {index // len(self._names) + 1}"
            if name not in taken:
                return name

    def _copies_root(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="aecore-board-"))
            weakref.finalize(self, shutil.rmtree, self._root, True)  # at the latest when the server exits
        return self._root

    def _over_cap(self) -> list[_Copy]:
        copies = sorted((copy for entry in self._entries.values() for copy in entry.copies),
                        key=lambda copy: copy.made)
        stale = copies[:max(0, len(copies) - self._max_copies)]
        for entry in self._entries.values():
            entry.copies = [copy for copy in entry.copies if copy not in stale]
        return stale


def _slug(label: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in label.lower()).split()) or "run"


def _unique_folder(root: Path, name: str) -> Path:
    for n in itertools.count(1):
        folder = root / (name if n == 1 else f"{name}-{n}")
        if not folder.exists():
            return folder
    raise AssertionError("unreachable")


def _copy_model(source: Path, target: Path) -> None:
    """Copy a run folder's files but the optimiser state into ``target``, made whole under a temporary name."""
    partial = target.with_name(f".{target.name}.copying")
    partial.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file() and not path.name.startswith(".") and path.name != OPTIMIZER_FILE:
            shutil.copyfile(path, partial / path.name)
    partial.rename(target)


def _remove_copies(copies: list[_Copy]) -> None:
    for copy in copies:
        shutil.rmtree(copy.folder, ignore_errors=True)


BOARD = ClassBoard()  # this server's board, shared by every session
