"""The class's job service: every browser's training run, owned by its key, outliving tabs, Wi-Fi and restarts.

A browser is known by an unguessable key it keeps (see ``aecore.ui.identity``);
the service knows only the key's SHA-256. Each owner has one
:class:`~aecore.jobs.TrainingJob`, living in ``<root>/runs/<owner id>/``, and an
upload folder ``<root>/uploads/<owner id>/``; ``<root>/class.db`` indexes them
(:mod:`aecore.jobs.store`). A page asks :meth:`JobService.job_for` for its
owner's job on every run: a reload, a new tab or another device with the
owner's link finds the same job, running or finished, with its curves. Nothing
stops a job but its owner: an abandoned run trains to its end and is kept for
``retention_s`` (24 h by default) after its owner was last seen, then removed
(runs its owner saved stay in the runs folder; they count towards the owner's quota).

After a restart, even ``kill -9``, :meth:`JobService.recover` (run when the
service is made) puts every run folder back: finished ones as they ended,
queued and training ones queued again from their last checkpoint. A corrupt run
folder is skipped with one line in the log.

Disk stays bounded: an owner's runs, saved runs and uploads count towards a
student quota, everything towards a class quota; when a run would start past
either, the oldest unsaved runs of owners who are not training go first, then
the start is refused with a message that says what to do.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from aecore.class_board import BOARD, ClassBoard
from aecore.errors import AecoreError
from aecore.jobs.pool import JobPool
from aecore.jobs.sharing import SharedRuns
from aecore.jobs.store import OwnerRow, RunRow, open_store
from aecore.jobs.training_job import JOB_FILE, DatasetLoader, JobError, TrainingJob
from aecore.paths import default_class_dir

log = logging.getLogger(__name__)

# checkpoints/class in a checkout, the user's data folder once installed (aecore/paths.py); AECORE_DATA_DIR moves it
DEFAULT_ROOT = default_class_dir()
RETENTION_S = 24 * 3600.0
STUDENT_QUOTA_MB, CLASS_QUOTA_MB = 200, 5000  # AECORE_STUDENT_QUOTA_MB, AECORE_CLASS_QUOTA_MB
SWEEP_EVERY_S = 60.0
SEEN_EVERY_S = 30.0  # an owner's last visit is written at most this often
OWNER_FILE = "owner.json"
TEACHER_KEY_FILE = "teacher.key"
UPLOAD_FOLDER_PREFIX = "aecore-upload-"  # an owner's upload folder: never a "server folder" in a link
STUDENT, TEACHER = "student", "teacher"
MIN_KEY_CHARS = 22  # 22 URL-safe characters carry 132 bits
DEFAULT_MAX_EPOCHS, MAX_EPOCHS_LIMIT = 5000, 1_000_000  # a run's epochs: every preset fits the default (toy: 5,000)


def new_key() -> str:
    """A fresh browser key: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def key_hash(key: str) -> str:
    """The SHA-256 of a key, as stored: a leaked database or log reveals no key."""
    return hashlib.sha256(key.encode()).hexdigest()


def well_formed(key: str | None) -> bool:
    """Whether ``key`` could be a browser key (long enough, URL-safe characters only)."""
    return (isinstance(key, str) and MIN_KEY_CHARS <= len(key) <= 64
            and all(c.isalnum() or c in "-_" for c in key))


@dataclass(frozen=True)
class ClassLimits:
    """What the teacher allows a student's run: ``max_epochs`` trained in one start or resume."""

    max_epochs: int = 0


@dataclass(frozen=True)
class Owner:
    """A browser known by its key: ``key_hash``, ``role`` and the anonymous ``board_name``."""

    key_hash: str
    role: str
    board_name: str

    @property
    def id(self) -> str:
        """The name of this owner's folders (a prefix of the hash)."""
        return self.key_hash[:24]

    @property
    def is_teacher(self) -> bool:
        return self.role == TEACHER


class JobService:
    """Every owner's job and upload folder under ``root``; see the module's description."""

    def __init__(self, root: Path, load_dataset: DatasetLoader, pool: JobPool | None = None, *,
                 retention_s: float = RETENTION_S, student_quota_mb: float = STUDENT_QUOTA_MB,
                 class_quota_mb: float = CLASS_QUOTA_MB, teacher_key: str | None = None,
                 board: ClassBoard = BOARD, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        (self.root / "runs").mkdir(parents=True, exist_ok=True)
        (self.root / "uploads").mkdir(parents=True, exist_ok=True)
        self.retention_s = retention_s
        self.student_quota_bytes = int(student_quota_mb * 1e6)
        self.class_quota_bytes = int(class_quota_mb * 1e6)
        self._load_dataset, self._pool, self._board, self._clock = load_dataset, pool, board, clock
        self._lock = threading.RLock()
        self._jobs: dict[str, TrainingJob] = {}  # by key hash
        self._owners: dict[str, Owner] = {}
        self._seen_at: dict[str, float] = {}
        self._swept_at = clock()
        self.teacher_key = teacher_key or self._teacher_key()
        shutil.rmtree(self.root / "shared", ignore_errors=True)  # a shared run's checkpoints go with its process
        self.sharing = SharedRuns(self.root / "shared")
        self.store, fresh = open_store(self.root / "class.db")
        self.recover(rebuild_index=fresh)

    # ------------------------------------------------------------------------------ owners

    def owner(self, key: str) -> Owner:
        """The owner of ``key`` (made on first sight), noted as seen now. The teacher's key gives the teacher."""
        if not well_formed(key):
            raise JobError("this browser's key is not valid")
        hashed = key_hash(key)
        now = self._clock()
        with self._lock:
            owner = self._owners.get(hashed)
            if owner is None:
                row = self.store.owner(hashed)
                if row is None:
                    role = TEACHER if secrets.compare_digest(key, self.teacher_key) else STUDENT
                    row = OwnerRow(hashed, role, "", False, now, now)
                    self.store.put_owner(row)
                owner = self._owners[hashed] = Owner(hashed, row.role, row.board_name)
            if now - self._seen_at.get(hashed, 0.0) >= SEEN_EVERY_S:
                self._seen_at[hashed] = now
                self.store.seen(hashed, now)
            self.job_for(owner)  # on the board, with its name, from the first visit
            owner = self._owners[hashed]
        self._sweep_if_due()
        return owner

    def job_for(self, owner: Owner) -> TrainingJob:
        """``owner``'s training job: the same object for every session of this owner, until retention ends."""
        with self._lock:
            job = self._jobs.get(owner.key_hash)
            if job is None:
                folder = self.root / "runs" / owner.id
                job = self._adopt(owner, TrainingJob(self._load_dataset, self._pool, folder=folder,
                                                     guard=lambda action, epochs: self._allow(owner, action, epochs),
                                                     sharing=self.sharing))
            return job

    def upload_folder(self, owner: Owner) -> Path:
        """``owner``'s folder for uploaded images (kept, like their run, until retention ends)."""
        folder = self._upload_folder(owner)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def check_upload_room(self, owner: Owner) -> None:
        """Refuse (:class:`JobError`) an upload by ``owner`` while they use their whole quota, or the class its."""
        if self.class_usage() > self.class_quota_bytes:
            raise JobError(f"the class's files fill the server's disk quota ({self.class_quota_bytes / 1e6:.0f} MB): "
                           "ask the teacher to make room")
        mine = self.usage(owner) - _size(self._upload_folder(owner))  # the new upload replaces the old
        if mine > self.student_quota_bytes:
            raise JobError(f"your runs on this server take {mine / 1e6:.0f} MB of your "
                           f"{self.student_quota_bytes / 1e6:.0f} MB: there is no room for images")

    def set_shared(self, owner: Owner, shared: bool) -> None:
        """Whether ``owner``'s runs on their own images show on the class board; kept across restarts."""
        self._board.set_shared(self.job_for(owner), shared)
        self.store.set_shared(owner.key_hash, shared)

    def usage(self, owner: Owner) -> int:
        """Bytes on disk that ``owner`` uses: their run, their uploads and the runs they saved."""
        folders = [self.root / "runs" / owner.id, self._upload_folder(owner),
                   *map(Path, self.store.saved(owner.key_hash))]
        return sum(_size(folder) for folder in folders)

    def class_usage(self) -> int:
        """Bytes on disk that the whole class uses (runs, uploads and saved runs)."""
        return (_size(self.root / "runs") + _size(self.root / "uploads")
                + sum(_size(Path(path)) for path in self.store.saved()))

    # ------------------------------------------------------------------------------ restart and retention

    def recover(self, *, rebuild_index: bool = False) -> None:
        """Put back every run folder's job (see the module's description). With ``rebuild_index`` (a new or rebuilt
        database), the owners are read back from the folders too."""
        folders = sorted((path for path in (self.root / "runs").iterdir() if path.is_dir()),
                         key=lambda path: _modified(path / JOB_FILE))
        restored = 0
        for folder in folders:
            try:
                row = self._owner_of_folder(folder, rebuild_index)
                owner = Owner(row.key_hash, row.role, row.board_name)
                if owner.key_hash in self._jobs:
                    continue
                job = TrainingJob.restore(folder, self._load_dataset, self._pool,
                                          guard=lambda action, epochs, owner=owner: self._allow(owner, action, epochs),
                                          sharing=self.sharing)
            except (AecoreError, OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("skipped the run folder %s: %s", folder.name, exc)
                continue
            with self._lock:
                self._owners[owner.key_hash] = owner
                self._adopt(owner, job, shared=row.shared)
            restored += 1
        if rebuild_index:
            log.info("the class database was rebuilt from %d run folder(s)", restored)

    def sweep(self) -> list[str]:
        """Remove the runs and uploads of owners not seen for ``retention_s`` whose run is not training; the names
        of the owners removed (board names)."""
        now = self._clock()
        removed = []
        for row in self.store.owners():
            with self._lock:
                job = self._jobs.get(row.key_hash)
                if now - row.last_seen < self.retention_s or (job is not None and job.snapshot().active):
                    continue
                self._jobs.pop(row.key_hash, None)
                self._owners.pop(row.key_hash, None)
            if job is not None:
                self._board.retire(job)
            owner = Owner(row.key_hash, row.role, row.board_name)
            shutil.rmtree(self.root / "runs" / owner.id, ignore_errors=True)
            shutil.rmtree(self._upload_folder(owner), ignore_errors=True)
            self.store.forget_owner(row.key_hash)
            removed.append(row.board_name)
        self._swept_at = now
        return removed

    def shutdown(self) -> None:
        """Close the index (the jobs' workers belong to the pool)."""
        self.store.close()

    # ------------------------------------------------------------------------------ inside

    def _adopt(self, owner: Owner, job: TrainingJob, *, shared: bool = False) -> TrainingJob:
        """Register ``job`` as ``owner``'s (lock held): on the board under the owner's name, and in the index."""
        name = self._board.register(job, owner.board_name or None)
        if name != owner.board_name:
            owner = self._owners[owner.key_hash] = replace(owner, board_name=name)
            row = self.store.owner(owner.key_hash)
            if row is not None:
                self.store.put_owner(replace(row, board_name=name))
        if shared:
            self._board.set_shared(job, True)
        self._jobs[owner.key_hash] = job
        job.priority = 1 if owner.is_teacher else 0
        job.on_persist = lambda record, owner=owner, folder=job.folder: self._index(owner, folder, record)
        _write_owner_file(job.folder, owner, shared)
        self._index(owner, job.folder, job.record())
        return job

    def _upload_folder(self, owner: Owner) -> Path:
        return self.root / "uploads" / f"{UPLOAD_FOLDER_PREFIX}{owner.id}"

    def _index(self, owner: Owner, folder: Path, record: dict) -> None:
        config = json.dumps(record["config"]) if record.get("config") else None
        if record.get("saved_to"):
            self.store.add_saved(str(record["saved_to"]), owner.key_hash)
        self.store.put_run(RunRow(str(folder), owner.key_hash, record["status"], config, int(record["epoch"]),
                                  int(record["epochs"]), int(record["step"]), self._clock()))

    def _owner_of_folder(self, folder: Path, rebuild_index: bool) -> OwnerRow:
        saved = json.loads((folder / OWNER_FILE).read_text())
        row = None if rebuild_index else self.store.owner(saved["key_hash"])
        if row is None:
            row = OwnerRow(saved["key_hash"], saved["role"], saved["board_name"], bool(saved.get("shared")),
                           float(saved.get("created", self._clock())), self._clock())
            self.store.put_owner(row)
        return row

    def limits(self) -> ClassLimits:
        """The class's limits now (the teacher's settings, else the defaults)."""
        return ClassLimits(max_epochs=int(self.store.setting("max_epochs", DEFAULT_MAX_EPOCHS)))

    def set_limits(self, owner: Owner, limits: ClassLimits) -> None:
        """Change the class's limits: the teacher only."""
        if not owner.is_teacher:
            raise JobError("only the teacher can change the class's limits")
        if not 1 <= limits.max_epochs <= MAX_EPOCHS_LIMIT:
            raise JobError(f"the most epochs a run may train is between 1 and {MAX_EPOCHS_LIMIT}")
        self.store.set_setting("max_epochs", str(limits.max_epochs))

    def _allow(self, owner: Owner, action: str, epochs: int) -> None:
        """Before ``owner`` starts, resumes or loads a run of ``epochs`` epochs: the class's limits (not the
        teacher's), then the disk quotas."""
        limit = self.limits().max_epochs
        if not owner.is_teacher and epochs > limit:
            raise JobError(f"cannot {action}: a run trains at most {limit} epochs in this class (the teacher's "
                           "limit, on the Class board); ask for fewer")
        self._make_room(owner, action)

    def _make_room(self, owner: Owner, action: str) -> None:
        """Before ``owner`` starts, resumes or loads a run: evict the oldest unsaved runs of idle owners while
        the class is over its quota, then refuse when the owner or the class still is."""
        over_class = self.class_usage() - self.class_quota_bytes
        for row in self.store.runs():
            if over_class <= 0:
                break
            with self._lock:
                job = self._jobs.get(row.owner)
            if row.owner == owner.key_hash or (job is not None and job.snapshot().active):
                continue
            size = _size(Path(row.folder) / "state")
            if size and job is not None:
                job.reset()  # the run's checkpoint goes; its owner's name and uploads stay
                log.info("removed an idle run to keep the class under its disk quota")
                over_class -= size
        if over_class > 0:
            raise JobError(f"cannot {action}: the class's runs fill the server's disk quota "
                           f"({self.class_quota_bytes / 1e6:.0f} MB). Ask the teacher to make room.")
        mine = self.usage(owner) - _size(self.root / "runs" / owner.id / "state")  # that one is replaced
        if action != "resume" and mine > self.student_quota_bytes:
            raise JobError(f"cannot {action}: your saved runs and images on this server take {mine / 1e6:.0f} MB "
                           f"of your {self.student_quota_bytes / 1e6:.0f} MB. Remove an upload, or ask the teacher.")

    def _sweep_if_due(self) -> None:
        if self._clock() - self._swept_at >= SWEEP_EVERY_S:
            try:
                self.sweep()
            except (OSError, AecoreError):
                log.warning("could not remove expired runs", exc_info=True)

    def _teacher_key(self) -> str:
        if well_formed(os.environ.get("AECORE_TEACHER_KEY")):
            return os.environ["AECORE_TEACHER_KEY"]
        path = self.root / TEACHER_KEY_FILE
        try:
            key = path.read_text().strip()
            if well_formed(key):
                return key
        except OSError:
            pass
        key = new_key()
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key


def _write_owner_file(folder: Path, owner: Owner, shared: bool) -> None:
    payload = {"key_hash": owner.key_hash, "role": owner.role, "board_name": owner.board_name, "shared": shared,
               "created": time.time()}
    temporary = folder / f".{OWNER_FILE}.tmp"
    temporary.write_text(json.dumps(payload))
    os.replace(temporary, folder / OWNER_FILE)


def _size(folder: Path) -> int:
    if not folder.exists():
        return 0
    if folder.is_file():
        return folder.stat().st_size
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:  # removed while walking
            continue
    return total


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


_service: JobService | None = None
_service_lock = threading.Lock()


def shared_service(load_dataset: DatasetLoader) -> JobService:
    """This process's service, made (and its runs recovered) on first use: under ``AECORE_DATA_DIR`` or
    checkpoints/class, with ``AECORE_STUDENT_QUOTA_MB`` / ``AECORE_CLASS_QUOTA_MB`` / ``AECORE_RETENTION_H``."""
    global _service
    with _service_lock:
        if _service is None:
            _service = JobService(
                Path(os.environ.get("AECORE_DATA_DIR") or DEFAULT_ROOT), load_dataset,
                retention_s=float(os.environ.get("AECORE_RETENTION_H", RETENTION_S / 3600)) * 3600,
                student_quota_mb=float(os.environ.get("AECORE_STUDENT_QUOTA_MB", STUDENT_QUOTA_MB)),
                class_quota_mb=float(os.environ.get("AECORE_CLASS_QUOTA_MB", CLASS_QUOTA_MB)))
        return _service

