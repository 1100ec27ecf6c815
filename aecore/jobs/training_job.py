"""A student's training run, as the pages see it: actions and a snapshot of progress.

Training never runs in the server's process (measured: with thirty sessions'
scripts and Streamlit's collector sharing its GIL, a training thread there
starved). A :class:`TrainingJob` sends each call of fit() to a
:class:`~aecore.jobs.JobPool` of worker processes (or Ray), folds the messages
that come back into a :class:`JobSnapshot` under a lock, and keeps the run's
state in its folder: the worker checkpoints it there (``state/``, at every
epoch's end and when a call ends, replaced whole), and the job writes what a
page shows (``job.json``: status, target, the thinned step-loss curve) beside
it. :meth:`TrainingJob.restore` rebuilds a job from that folder after a server
restart. The page polls :meth:`TrainingJob.snapshot` from a fragment; nothing
here calls streamlit.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from aecore import checkpoints
from aecore.checkpoints import PRETRAINED_DIR, load_run, recovered_run_folder
from aecore.config import DataConfig, RunConfig
from aecore.data import Dataset
from aecore.errors import AecoreError, CheckpointError, ConfigError
from aecore.events import CheckpointSaved, Epoch, Failed, Finished, Preview, Started, Step
from aecore.jobs.engines import shared_pool
from aecore.jobs.pool import JobPool
from aecore.jobs.sharing import SharedRuns
from aecore.jobs.sliced_pool import SlicedPool
from aecore.jobs.work import Claimed, Dropped, Events, JobFailed, Message, Parked, TrainRequest
from aecore.models import AutoEncoder

log = logging.getLogger(__name__)

MAX_STEP_POINTS = 1000  # the per-step loss curve is thinned to at most this many points
RUN_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
QUEUED_POLL_S, RUNNING_POLL_S = 3.0, 1.0  # how often a page redraws a waiting or a running job
# A server redraws about this many live views a second and still leaves its workers the CPU: measured on 2 cores,
# ten Train pages redrawn every second took the server to a whole core and left the training worker a tenth of one
# (ten sliced jobs alone in the pool made 1.03x the images/s of one job). Busier classes redraw less often.
REDRAWS_PER_S, SLOWEST_RUNNING_POLL_S = 5, 3.0
JOB_FILE, STATE_FOLDER = "job.json", "state"  # in a job's folder: what the page shows, and the checkpoint
PERSIST_EVERY_S = 2.0  # job.json is written on every change of status and checkpoint, and at most this often between

# Job states, in the order a run goes through them.
IDLE, QUEUED, LOADING, RUNNING, STOPPING, STOPPED, FINISHED, FAILED = (
    "idle", "queued", "loading", "running", "stopping", "stopped", "finished", "failed")
ACTIVE_STATES = (QUEUED, LOADING, RUNNING, STOPPING)


class JobError(AecoreError):
    """A job action that is not possible now (e.g. a second Start while running)."""


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's progress, safe to draw from any thread."""

    status: str = IDLE
    message: str = ""
    config: RunConfig | None = None
    device_name: str = ""
    epoch: int = 0  # epochs completed
    epochs: int = 0  # the epoch count the current call trains up to
    batch: int = 0  # batches done in the epoch in progress
    steps_per_epoch: int = 0
    step: int = 0
    seconds: float = 0.0  # elapsed in the current call
    eta_s: float | None = None
    history: tuple[dict, ...] = ()  # one record per completed epoch (see TrainingState.history)
    step_losses: tuple[tuple[float, float], ...] = ()  # (fractional epoch, total loss), thinned
    preview: Preview | None = None
    saved_to: str | None = None
    source: str | None = None  # the run folder this job continued, if any
    class_names: tuple[str, ...] = ()
    place_in_line: int | None = None  # 1 = next, while waiting for a slot
    wait_s: float | None = None  # a rough wait for a slot
    worker_pid: int | None = None  # the process training this run (local pool)
    watchers: int = 1  # students watching this run: more than one when identical runs share one training
    running_poll_s: float = RUNNING_POLL_S  # see running_poll_s(): longer when many runs train at once

    @property
    def poll_every_s(self) -> float | None:
        """How often a page should redraw this job: often while it trains, rarely while it waits."""
        if self.status == QUEUED:
            return QUEUED_POLL_S
        if self.status in (LOADING, RUNNING) and self.step == 0:
            return RUNNING_POLL_S  # its first step shows within a second, however many runs train
        return self.running_poll_s if self.active else None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATES

    @property
    def has_model(self) -> bool:
        """True once there are trained weights to resume (even from a stop within the first epoch)."""
        return self.step > 0 or self.source is not None

    @property
    def progress(self) -> float:
        """Fraction of the current call's steps done, in [0, 1]."""
        if not self.steps_per_epoch or not self.epochs:
            return 0.0
        done = self.epoch * self.steps_per_epoch + self.batch
        return min(1.0, done / (self.epochs * self.steps_per_epoch))



DatasetLoader = Callable[[DataConfig, torch.device], Dataset]


class TrainingJob:
    """One session's run: start, stop, resume, reset, load and save it; training happens in ``pool``.

    ``load_dataset`` gives the data a trained model is shown with (:meth:`trained`). Between calls
    the run's weights, optimiser state and history live in a private folder (deleted with the job).
    """

    def __init__(self, load_dataset: DatasetLoader, pool: JobPool | None = None, *, folder: Path | None = None,
                 guard: Callable[[str, int], None] | None = None, sharing: SharedRuns | None = None) -> None:
        """``folder``: where the run lives and stays (a server's job service gives one); without it, a private
        temporary folder deleted with the job. ``guard(action, epochs)`` is asked before a run starts, resumes
        or is loaded (with the epochs it would train), and may refuse with a :class:`JobError` (a full disk quota,
        a class limit). With ``sharing``, a new run
        that is the same as one training now watches that one (see :mod:`aecore.jobs.sharing`)."""
        self._sharing = sharing
        self._load_dataset = load_dataset
        self._pool = pool if pool is not None else shared_pool()
        self._guard = guard
        self._lock = threading.Lock()
        self._snapshot = JobSnapshot()
        self._job_id: str | None = None
        if folder is None:  # AECORE_JOBS_DIR: a folder every Ray node can reach, when jobs run on a cluster
            self._folder = Path(tempfile.mkdtemp(prefix="aecore-job-", dir=os.environ.get("AECORE_JOBS_DIR")))
            self._cleanup = weakref.finalize(self, shutil.rmtree, self._folder, True)
        else:
            self._folder = Path(folder)
            self._folder.mkdir(parents=True, exist_ok=True)
            self._cleanup = lambda: None  # kept: the service removes it when its retention ends
        self._persisted_at = 0.0
        self.on_persist: Callable[[dict], None] | None = None  # told each time job.json is written (the index)
        self.priority = 0  # 1: the teacher's, whose runs go before the class's where workers are shared
        self._parked: Path | None = None  # the state the last call ended with
        self._trained: tuple[float, tuple[AutoEncoder, Dataset]] | None = None
        self._step_stride = 1
        self._call_start_step = 0
        self._call_started = 0.0
        self._seconds_before = 0.0
        self._shared = False  # the current call is a shared run (see aecore.jobs.sharing)
        self._shared_park: Path | None = None  # where that run saves its checkpoints
        self._call: object | None = None  # the current call's token: messages of an earlier call are ignored
        self._ended = threading.Event()
        self._ended.set()
        self._closing = False

    # ------------------------------------------------------------------------------ actions

    @property
    def folder(self) -> Path:
        """The folder this run lives in (``job.json`` and the checkpoint ``state/``)."""
        return self._folder

    def start(self, config: RunConfig, *, share: bool = True) -> None:
        """Train a new model from ``config`` (the previous one, if any, is dropped); with the job's ``sharing``
        and ``share``, by watching the same run when one is training now."""
        self._ensure_idle("start a new run")
        self._check("start a new run", config.train.epochs)
        self._parked, self._trained, self._step_stride = None, None, 1
        shutil.rmtree(self._folder / STATE_FOLDER, ignore_errors=True)
        self._snapshot = JobSnapshot(status=QUEUED, config=config, epochs=config.train.epochs,
                                     message="Waiting for a free training slot")
        self._launch(config, config.train.epochs, resume_from=None, share=share)

    def own_copy(self) -> None:
        """Leave a shared run and train the same settings alone, with another seed."""
        config = self._snapshot.config
        if config is None:
            raise JobError("there is no run to copy: start one first")
        if self._snapshot.active:
            self.stop()
            if not self.join(timeout=30):  # start() below then refuses: say why in the server's log
                log.warning("a run did not stop within 30 s for an own copy: %s, job %s, shared %s, %d watching",
                            self._snapshot.status, self._job_id, self._shared,
                            self._sharing.watchers(self._job_id) if self._sharing and self._job_id else 0)
        seed = config.train.seed + 1 + secrets.randbelow(1_000_000)
        self.start(replace(config, train=replace(config.train, seed=seed)), share=False)

    def resume(self, more_epochs: int | None = None) -> None:
        """Continue the same model and optimiser: a stopped run up to its target, or ``more_epochs`` more."""
        self._ensure_idle("resume")
        snapshot = self._snapshot
        origin = self._parked or (Path(snapshot.source) if snapshot.source else None)
        if origin is None or snapshot.config is None:
            raise JobError("there is no run to resume: start one or load a saved run first")
        if snapshot.status == STOPPED and snapshot.epoch < snapshot.epochs and more_epochs is None:
            target = snapshot.epochs
        else:
            target = snapshot.epoch + (more_epochs or snapshot.config.train.epochs)
        self._check("resume", target - snapshot.epoch)
        self._snapshot = replace(snapshot, status=QUEUED, message="Waiting for a free training slot",
                                 epochs=target, saved_to=None)
        self._launch(snapshot.config, target, resume_from=origin)

    def load(self, folder: str | Path) -> None:
        """Continue training a saved run: its weights, optimiser state and history."""
        self._ensure_idle("load a run")
        self._check("load a run", 0)
        run = load_run(folder)  # read to check it, and for its history: the worker loads its own copy
        self._parked, self._trained = None, None
        self._snapshot = JobSnapshot(status=STOPPED, config=run.config, epoch=run.epochs, epochs=run.epochs,
                                     history=tuple(run.history), step=run.steps, source=str(run.path),
                                     class_names=run.class_names,
                                     message=f"Loaded {run.name} ({_count(run.epochs, 'epoch')}): Resume trains it "
                                             "further")
        self._persist(force=True)

    def stop(self) -> None:
        """Ask the worker to stop at its next step (a waiting job leaves the queue at once). A shared run that
        others still watch goes on for them: this job leaves it with a copy of its last checkpoint."""
        with self._lock:
            job_id = self._job_id if self._snapshot.active else None
            if job_id is not None:
                self._snapshot = replace(self._snapshot, status=STOPPING, message="Stopping after this step")
        if job_id is None:
            return
        if self._shared and self._sharing.leave(self, job_id):
            self._job_id = self._call = None  # its later messages are for the others
            self._take_parked(self._shared_park)  # its latest checkpoint, even one whose message is still coming
            others = _count(self._sharing.watchers(job_id), "other")
            if self._parked is None:  # left before the run's first checkpoint: nothing of it to keep
                self._end(status=STOPPED, step=0, batch=0,
                          message=f"You stopped: the shared run goes on for the {others} who started it")
            else:
                self._end(status=STOPPED, epoch=self._parked_epoch(), batch=0,
                          message=f"You stopped: the shared run goes on for the {others} who started it; Resume "
                                  "trains your copy on from its last epoch")
            return
        self._pool.stop(job_id)

    def reset(self) -> None:
        """Stop and forget the run."""
        self.stop()
        self.join(timeout=30)
        with self._lock:
            self._snapshot, self._parked, self._trained = JobSnapshot(), None, None
        shutil.rmtree(self._folder / STATE_FOLDER, ignore_errors=True)
        self._persist(force=True)

    def close(self) -> None:
        """Stop the run and delete its private folder once the worker is done with it (the session is over)."""
        self._closing = True
        self.stop()
        if self._ended.is_set():
            self._cleanup()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the current call has ended; False on timeout."""
        return self._ended.wait(timeout)

    def save(self, name: str, root: Path | None = None) -> Path:
        """Save the current model as run ``name`` under ``root`` (default: the user runs folder).

        Refuses while training, a name that is not a plain file name, and a clash with another run.
        """
        self._ensure_idle("save")
        if self._parked is None or self._snapshot.epoch == 0:
            raise JobError("there is nothing to save yet: train for at least one epoch")
        name = name.strip()
        if not RUN_NAME_PATTERN.match(name):
            raise JobError("a run name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        if (PRETRAINED_DIR / name).exists():
            raise JobError(f"{name!r} is the name of a shipped run; choose another name")
        folder = Path(root if root is not None else checkpoints.USER_RUNS_DIR) / name
        if folder.exists() and str(folder) != self._snapshot.source:
            raise JobError(f"a run named {name!r} already exists; choose another name")
        _copy_run(self._parked, folder)
        with self._lock:
            self._snapshot = replace(self._snapshot, saved_to=str(folder), source=str(folder),
                                     message=f"Saved as {name}")
        self._persist(force=True)
        return folder

    def trained(self) -> tuple[AutoEncoder, Dataset] | None:
        """(the trained model in eval mode, the dataset it trained on) once a run has trained in this
        session and stopped; None while training or before."""
        if self._snapshot.active or self._parked is None or not (self._parked / checkpoints.MODEL_FILE).exists():
            return None
        modified = (self._parked / checkpoints.MODEL_FILE).stat().st_mtime
        if self._trained is None or self._trained[0] != modified:
            run = load_run(self._parked)
            self._trained = modified, (run.model, self._load_dataset(run.config.data, torch.device("cpu")))
        return self._trained[1]

    def model_folder(self) -> Path | None:
        """The run folder of the model this job holds while it is not training (the state its last call parked, or
        the saved run it loaded); None while training, before a model or once closed. Read it, never write it."""
        if self._snapshot.active:
            return None
        folder = self._parked or (Path(self._snapshot.source) if self._snapshot.source else None)
        return folder if folder is not None and (folder / checkpoints.MODEL_FILE).exists() else None

    def snapshot(self) -> JobSnapshot:
        """The job's progress now; a waiting job's place in line is looked up fresh."""
        with self._lock:
            snapshot, job_id = self._snapshot, self._job_id
        if snapshot.status == QUEUED and job_id is not None:
            info = self._pool.queue_info(job_id)
            if info is not None and isinstance(self._pool, SlicedPool):
                message = (f"Starting: {_ordinal(info.place)} of {info.waiting} new runs, first steps in about "
                           f"{_minutes(info.wait_s)} ({info.busy} training now)")
                snapshot = replace(snapshot, place_in_line=info.place, wait_s=info.wait_s, message=message)
            elif info is not None:
                wait = f", about {_minutes(info.wait_s)}" if info.wait_s else ""
                message = (f"Waiting for a free training slot: {_ordinal(info.place)} in line of {info.waiting} "
                           f"({info.busy} of {info.slots} slots busy{wait})")
                snapshot = replace(snapshot, place_in_line=info.place, wait_s=info.wait_s, message=message)
        if snapshot.active and self._shared and job_id is not None:
            watchers = self._sharing.watchers(job_id)
            snapshot = replace(snapshot, watchers=watchers)
            if watchers > 1 and snapshot.status == RUNNING:
                snapshot = replace(snapshot, message=f"{snapshot.message} · one run for the {watchers} of you who "
                                                     "started these same settings")
        if snapshot.active:
            snapshot = replace(snapshot, running_poll_s=running_poll_s(self._pool.busy("cpu")))
        if snapshot.status == RUNNING and job_id is not None and isinstance(self._pool, SlicedPool):
            share = self._pool.share(job_id)
            if share is not None and share < 1:
                others = round(1 / share) - 1
                snapshot = replace(snapshot, message=f"{snapshot.message} · sharing a worker with {others} other "
                                                     f"run{'s' if others > 1 else ''}")
        return snapshot

    # ------------------------------------------------------------------------------ on disk

    @classmethod
    def restore(cls, folder: Path, load_dataset: DatasetLoader, pool: JobPool | None = None, *,
                guard: Callable[[str, int], None] | None = None, sharing: SharedRuns | None = None) -> TrainingJob:
        """The job whose folder is ``folder``, as it was last written, after a server restart: a finished or
        stopped run is shown as it ended; a queued or training one is queued again, from its last checkpoint
        (or from the start when it had none). Raises :class:`CheckpointError` for a folder that is not a job's."""
        job = cls(load_dataset, pool, folder=folder, guard=guard, sharing=sharing)
        try:
            record = json.loads((Path(folder) / JOB_FILE).read_text())
            config = RunConfig.from_dict(record["config"]) if record.get("config") else None
            status = str(record["status"])
            saved = {name: record.get(name) for name in ("source", "saved_to")}
            snapshot = JobSnapshot(status=status, message=str(record.get("message", "")), config=config,
                                   epochs=int(record.get("epochs", 0)),
                                   steps_per_epoch=int(record.get("steps_per_epoch", 0)),
                                   seconds=float(record.get("seconds", 0.0)),
                                   class_names=tuple(record.get("class_names", ())),
                                   **{name: str(value) for name, value in saved.items() if value})
            points = tuple((float(x), float(y)) for x, y in record.get("step_losses", ()))
            job._step_stride = max(1, int(record.get("step_stride", 1)))
        except (OSError, ValueError, KeyError, TypeError, ConfigError) as exc:
            raise CheckpointError(f"{Path(folder) / JOB_FILE} is not a readable job ({exc})") from None
        parked = recovered_run_folder(Path(folder) / STATE_FOLDER)
        if parked is not None:
            run = load_run(parked)
            position = run.epochs + (run.progress or {}).get("batch", 0) / max(1, snapshot.steps_per_epoch)
            snapshot = replace(snapshot, epoch=run.epochs, step=run.steps, history=tuple(run.history),
                               batch=(run.progress or {}).get("batch", 0),
                               seconds=(run.progress or {}).get("seconds", snapshot.seconds),
                               step_losses=tuple(point for point in points if point[0] <= position + 1e-9))
            job._parked = parked
        elif snapshot.source:
            snapshot = replace(snapshot, step_losses=())
        else:
            snapshot = replace(snapshot, step_losses=(), epoch=0, step=0)
        was_active = status in ACTIVE_STATES and status != STOPPING
        job._snapshot = replace(snapshot, status=STOPPED if status in ACTIVE_STATES else status)
        if was_active and config is not None:
            job._continue_after_restart()
        return job

    def _continue_after_restart(self) -> None:
        snapshot = self._snapshot
        origin = self._parked or (Path(snapshot.source) if snapshot.source else None)
        message = "Waiting for a free training slot (the server restarted: the run goes on from its last checkpoint)"
        self._snapshot = replace(snapshot, status=QUEUED, message=message)
        self._launch(snapshot.config, snapshot.epochs or snapshot.config.train.epochs, resume_from=origin,
                     share=origin is None)  # identical runs started afresh share again

    def record(self) -> dict:
        """What job.json holds: the snapshot's status, settings, progress and thinned step-loss curve."""
        snapshot = self._snapshot
        return {"format": "aecore-job/1", "status": snapshot.status, "message": snapshot.message,
                "config": snapshot.config.to_dict() if snapshot.config is not None else None,
                "epochs": snapshot.epochs, "epoch": snapshot.epoch, "step": snapshot.step,
                "steps_per_epoch": snapshot.steps_per_epoch, "seconds": round(snapshot.seconds, 3),
                "class_names": list(snapshot.class_names), "source": snapshot.source,
                "saved_to": snapshot.saved_to, "step_stride": self._step_stride,
                "step_losses": [[round(x, 6), y] for x, y in snapshot.step_losses]}

    def _persist(self, *, force: bool = False) -> None:
        """Write job.json (atomically) and tell :attr:`on_persist`: on every change of status or checkpoint, else at
        most every few seconds."""
        now = time.monotonic()
        if not force and now - self._persisted_at < PERSIST_EVERY_S:
            return
        self._persisted_at = now
        record = self.record()
        path = self._folder / JOB_FILE
        temporary = path.with_name(f".{JOB_FILE}.{threading.get_ident()}.tmp")
        try:
            temporary.write_text(json.dumps(record, separators=(",", ":")))
            os.replace(temporary, path)
        except OSError:  # a folder removed under a closing job; the run itself is unaffected
            temporary.unlink(missing_ok=True)
            return
        if self.on_persist is not None:
            try:
                self.on_persist(record)
            except Exception:  # the index is rebuilt from job.json if need be: never fail the run for it
                log.warning("could not index a run", exc_info=True)

    # ------------------------------------------------------------------------------ messages

    def _ensure_idle(self, action: str) -> None:
        if self._snapshot.active:
            raise JobError(f"cannot {action} while a run is training: stop it first")

    def _launch(self, config: RunConfig, target_epochs: int, resume_from: Path | None, share: bool = False) -> None:
        self._job_id = uuid.uuid4().hex
        self._call_start_step = self._snapshot.step
        self._ended.clear()
        request = TrainRequest(self._job_id, config, target_epochs, park_in=str(self._folder / STATE_FOLDER),
                               resume_from=str(resume_from) if resume_from else None, priority=self.priority)
        call = self._call = object()  # this call's messages, whatever job id a shared run gives them
        listener = lambda message: self._on_message(call, message)  # noqa: E731
        self._shared = share and self._sharing is not None and resume_from is None
        self._persist(force=True)
        try:
            if self._shared:
                run = self._sharing.start(self, request, listener, self._pool)
                self._job_id, self._shared_park = run.job_id, run.park_in
            else:
                self._pool.submit(request, listener)
        except AecoreError as exc:
            self._end(status=FAILED, message=str(exc))

    def _take_parked(self, shared_folder: Path | None = None) -> None:
        """Copy a shared run's last checkpoint (the one its message named, else the latest in ``shared_folder``) into
        this job's own folder (the shared one goes with the run)."""
        source = self._parked or shared_folder
        own = self._folder / STATE_FOLDER
        for _attempt in range(3):  # the run may put its next checkpoint in place while this one is copied
            parked = recovered_run_folder(source) if source is not None else None
            if parked is None or parked == own:
                return
            staged = own.with_name(own.name + ".new")
            shutil.rmtree(staged, ignore_errors=True)
            try:
                shutil.copytree(parked, staged)
            except OSError:  # shutil.Error is one
                continue
            checkpoints.replace_run_folder(staged, own)
            self._parked, self._trained = own, None
            return

    def _parked_epoch(self) -> int:
        return load_run(self._parked).epochs if self._parked is not None else 0

    def _update(self, **changes) -> None:
        with self._lock:
            self._snapshot = replace(self._snapshot, **changes)

    def _end(self, **changes) -> None:
        self._update(eta_s=None, place_in_line=None, wait_s=None, **changes)
        self._persist(force=True)
        if self._closing:
            self._cleanup()
        self._ended.set()

    def _check(self, action: str, epochs: int) -> None:
        if self._guard is not None:
            self._guard(action, epochs)

    def _on_message(self, call: object, message: Message) -> None:
        if call is not self._call:  # a message of an earlier call (after Reset, or a shared run left)
            return
        if isinstance(message, Claimed):
            snapshot = self._snapshot
            stopping = snapshot.status == STOPPING
            self._update(status=STOPPING if stopping else LOADING, worker_pid=message.worker_pid,
                         message=snapshot.message if stopping else f"Loading {snapshot.config.data.name}",
                         place_in_line=None, wait_s=None)
        elif isinstance(message, Parked):
            self._parked, self._trained = Path(message.folder), None
            self._persist(force=True)
        elif isinstance(message, JobFailed):
            self._end(status=FAILED, message=message.message)
        elif isinstance(message, Dropped):
            self._end(status=STOPPED, message="Stopped while waiting for a slot")
        elif isinstance(message, Events):
            for event in message.events:
                self._apply(event)

    def _apply(self, event) -> None:
        snapshot = self._snapshot
        if isinstance(event, Started):
            self._call_started = time.perf_counter()
            stopping = snapshot.status == STOPPING
            self._seconds_before = event.seconds_before
            self._update(status=STOPPING if stopping else RUNNING,
                         message=snapshot.message if stopping else f"Training on {event.device_name}",
                         device_name=event.device_name, class_names=event.class_names,
                         epochs=event.epochs, steps_per_epoch=event.steps_per_epoch, batch=event.start_batch,
                         seconds=event.seconds_before)
            self._persist(force=True)
        elif isinstance(event, Step):
            elapsed = time.perf_counter() - self._call_started
            done = event.step - self._call_start_step
            remaining = (snapshot.epochs - event.epoch + 1) * snapshot.steps_per_epoch - event.batch
            points = snapshot.step_losses
            if event.step % self._step_stride == 0:
                points = (*points, (event.epoch - 1 + event.batch / snapshot.steps_per_epoch, event.losses["total"]))
                if len(points) > MAX_STEP_POINTS:
                    points, self._step_stride = points[::2], self._step_stride * 2
            changes = {"preview": event.preview} if event.preview is not None else {}
            self._update(batch=event.batch, step=event.step, seconds=self._seconds_before + elapsed,
                         step_losses=points, eta_s=elapsed / done * remaining if done else None, **changes)
        elif isinstance(event, Epoch):
            record = {"epoch": event.epoch, "step": event.step, "seconds": round(event.seconds, 3),
                      "train": event.train, "val": event.val}
            changes = {"epoch": event.epoch, "batch": 0, "history": (*snapshot.history, record)}
            if event.preview is not None:
                changes["preview"] = event.preview
            self._update(**changes)
            self._persist()
        elif isinstance(event, CheckpointSaved):
            self._update(saved_to=event.path)
        elif isinstance(event, Finished):
            if self._shared:
                self._take_parked()
            status = STOPPED if event.stopped else FINISHED
            if not event.stopped:
                text = f"Finished {_count(event.epoch, 'epoch')} in {event.seconds:.0f} s"
            elif event.batch:
                text = (f"Stopped in epoch {event.epoch + 1}, after step {event.batch} of {snapshot.steps_per_epoch}: "
                        "Resume goes on from there")
            else:
                text = f"Stopped after {_count(event.epoch, 'epoch')}"
            self._end(status=status, message=text, epoch=event.epoch, step=event.step, batch=event.batch,
                      seconds=event.seconds)
        elif isinstance(event, Failed):
            self._end(status=FAILED, message=event.message, epoch=event.epoch, step=event.step)


def running_poll_s(runs_training: int) -> float:
    """Seconds between a training run's redraws when ``runs_training`` runs train at once: every second up to
    REDRAWS_PER_S runs, then every 2 s, then every SLOWEST_RUNNING_POLL_S (whole seconds: a page's cadence changes
    rarely, and each change redraws the page once)."""
    return float(min(SLOWEST_RUNNING_POLL_S, max(RUNNING_POLL_S, -(-runs_training // REDRAWS_PER_S))))


def _copy_run(source: Path, target: Path) -> None:
    """Copy a run folder's files into ``target``, each written to a temporary name and renamed."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file() and not path.name.startswith("."):
            temporary = target / f".{path.name}.copying"
            shutil.copyfile(path, temporary)
            os.replace(temporary, target / path.name)
    if not (source / checkpoints.OPTIMIZER_FILE).exists():
        (target / checkpoints.OPTIMIZER_FILE).unlink(missing_ok=True)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
