"""The class's index in SQLite (standard library, WAL mode): owners, their runs, what they saved, the class's limits.

The run folders are the truth; this database indexes them so that a page or a
restart finds a browser's runs at once. Owners are stored by the SHA-256 of
their key, never the key. A database that is missing, corrupt or of another
schema is set aside and rebuilt from the run folders (:func:`open_store`), with
one line in the log.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS owners (
    key_hash TEXT PRIMARY KEY, role TEXT NOT NULL, board_name TEXT NOT NULL, shared INTEGER NOT NULL,
    created REAL NOT NULL, last_seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    folder TEXT PRIMARY KEY, owner TEXT NOT NULL, status TEXT NOT NULL, config TEXT, epoch INTEGER NOT NULL,
    epochs INTEGER NOT NULL, step INTEGER NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_owner ON runs (owner);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, updated);
CREATE TABLE IF NOT EXISTS saved_runs (
    path TEXT PRIMARY KEY, owner TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class OwnerRow:
    """A browser's key (hashed), its role ("student" or "teacher"), its name on the class board and whether it
    shares its runs on its own images."""

    key_hash: str
    role: str
    board_name: str
    shared: bool
    created: float
    last_seen: float


@dataclass(frozen=True)
class RunRow:
    """A run folder, its owner's key hash, its status ("queued", "running", "finished"...) and its progress."""

    folder: str
    owner: str
    status: str
    config: str | None  # the RunConfig as JSON
    epoch: int
    epochs: int
    step: int
    updated: float


class ClassStore:
    """The index, safe to use from every thread (one connection behind a lock; SQLite in WAL mode)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"schema version {version}, expected {SCHEMA_VERSION}")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("SELECT count(*) FROM owners JOIN runs ON runs.owner = owners.key_hash").fetchone()
        except sqlite3.DatabaseError:
            self._db.close()
            raise

    # ------------------------------------------------------------------------------ owners

    def put_owner(self, owner: OwnerRow) -> None:
        """Insert or replace ``owner``."""
        self._write("INSERT OR REPLACE INTO owners VALUES (?, ?, ?, ?, ?, ?)", astuple(owner))

    def owner(self, key_hash: str) -> OwnerRow | None:
        """The owner with this key hash, or None."""
        rows = self._read("SELECT * FROM owners WHERE key_hash = ?", (key_hash,))
        return _owner(rows[0]) if rows else None

    def owners(self) -> list[OwnerRow]:
        """Every owner, oldest first."""
        return [_owner(row) for row in self._read("SELECT * FROM owners ORDER BY created")]

    def seen(self, key_hash: str, when: float | None = None) -> None:
        """Note that this owner's browser was here at ``when`` (default: now)."""
        self._write("UPDATE owners SET last_seen = ? WHERE key_hash = ?", (when or time.time(), key_hash))

    def set_shared(self, key_hash: str, shared: bool) -> None:
        """Whether this owner shares its runs on its own images on the class board."""
        self._write("UPDATE owners SET shared = ? WHERE key_hash = ?", (int(shared), key_hash))

    def forget_owner(self, key_hash: str) -> None:
        """Remove the owner and the index of its runs (their folders are the caller's)."""
        self._write("DELETE FROM runs WHERE owner = ?", (key_hash,))
        self._write("DELETE FROM saved_runs WHERE owner = ?", (key_hash,))
        self._write("DELETE FROM owners WHERE key_hash = ?", (key_hash,))

    # ------------------------------------------------------------------------------ runs

    def put_run(self, run: RunRow) -> None:
        """Insert or replace the index of ``run.folder``."""
        self._write("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", astuple(run))

    def runs(self, owner: str | None = None) -> list[RunRow]:
        """Every run (or ``owner``'s), least recently updated first."""
        if owner is None:
            rows = self._read("SELECT * FROM runs ORDER BY updated")
        else:
            rows = self._read("SELECT * FROM runs WHERE owner = ? ORDER BY updated", (owner,))
        return [RunRow(*row) for row in rows]

    def queue(self) -> list[RunRow]:
        """The runs waiting for a worker or training, in the order they last changed."""
        rows = self._read("SELECT * FROM runs WHERE status IN ('queued', 'loading', 'running', 'stopping') "
                          "ORDER BY updated")
        return [RunRow(*row) for row in rows]

    def forget_run(self, folder: str) -> None:
        """Remove the index of a run folder."""
        self._write("DELETE FROM runs WHERE folder = ?", (folder,))

    def add_saved(self, path: str, owner: str) -> None:
        """Note that ``owner`` saved a run at ``path`` (it counts towards their quota and is never evicted)."""
        self._write("INSERT OR REPLACE INTO saved_runs VALUES (?, ?, ?)", (path, owner, time.time()))

    def saved(self, owner: str | None = None) -> list[str]:
        """The paths of the runs ``owner`` (or anyone) saved."""
        if owner is None:
            return [row[0] for row in self._read("SELECT path FROM saved_runs ORDER BY created")]
        return [row[0] for row in self._read("SELECT path FROM saved_runs WHERE owner = ? ORDER BY created",
                                             (owner,))]

    def setting(self, name: str, default: object) -> str:
        """A class setting (the teacher's limits), as text; ``default`` when it was never set."""
        rows = self._read("SELECT value FROM settings WHERE name = ?", (name,))
        return rows[0][0] if rows else str(default)

    def set_setting(self, name: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))

    def delete_setting(self, name: str) -> None:
        """Forget a class setting (it reads as its default again)."""
        self._write("DELETE FROM settings WHERE name = ?", (name,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------------------ inside

    def _write(self, sql: str, parameters: Iterable = ()) -> None:
        with self._lock:
            self._db.execute(sql, tuple(parameters))

    def _read(self, sql: str, parameters: Iterable = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(parameters)).fetchall()


def _owner(row: tuple) -> OwnerRow:
    values = dict(zip((f.name for f in fields(OwnerRow)), row, strict=True))
    return OwnerRow(**{**values, "shared": bool(values["shared"])})


def open_store(path: Path) -> tuple[ClassStore, bool]:
    """The index at ``path``, and whether it is new: a missing file is made; a corrupt one (or one of another
    schema) is renamed to ``<name>.corrupt-<time>`` and made anew, with one line in the log. A new index is for
    the caller to fill from the run folders."""
    path = Path(path)
    existed = path.is_file() and path.stat().st_size > 0
    try:
        return ClassStore(path), not existed
    except sqlite3.DatabaseError as exc:
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            candidate = path.with_name(path.name + suffix)
            if candidate.exists():
                candidate.replace(aside.with_name(aside.name + suffix))
        log.warning("the class database %s could not be read (%s): set aside as %s and rebuilt from the run "
                    "folders", path, exc, aside.name)
        return ClassStore(path), True
