"""Identical runs train once: students who start exactly the same run (settings, data, seed) watch one job.

In a class most students follow the teacher's instruction ("now press Start"),
so most of their runs are the same run. :class:`SharedRuns` starts the first of
them in the pool and attaches the others to it: every message of the one job
goes to each student's :class:`~aecore.jobs.TrainingJob`, which folds it into
its own snapshot, so each of them sees the run live, from its first step. The
job parks its checkpoints in a folder of its own; each student takes a copy
when the run ends or when they stop watching it. The job stops when the last
of its students stops it. A student who wants a run of their own starts it with
another seed.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from aecore.events import Failed, Finished
from aecore.jobs.pool import JobPool
from aecore.jobs.work import Dropped, Events, JobFailed, Message, TrainRequest

log = logging.getLogger(__name__)

Listener = Callable[[Message], None]


@dataclass
class SharedRun:
    """One pool job and the students' listeners that watch it."""

    job_id: str
    signature: str
    folder: Path
    listeners: dict[int, Listener] = field(default_factory=dict)  # by id() of the watching job
    ended: bool = False
    log: list[Message] = field(default_factory=list)  # every message so far: a newcomer's replay
    picture_at: int | None = None  # the one message of the log that keeps its previews: the latest with any

    @property
    def park_in(self) -> Path:
        return self.folder / "state"


def signature(request: TrainRequest) -> str:
    """What makes two requests the same run: the whole config (seed included) and the epochs to train."""
    return json.dumps([request.config.to_dict(), request.target_epochs], sort_keys=True)


class SharedRuns:
    """The shared runs now training; their checkpoints under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._runs: dict[str, SharedRun] = {}  # by signature, while training
        self._by_job: dict[str, SharedRun] = {}
        self._lock = threading.Lock()

    def start(self, watcher: object, request: TrainRequest, listener: Listener, pool: JobPool) -> SharedRun:
        """Attach ``watcher`` to the run now training that is the same as ``request``, or start ``request`` as a
        new shared run (its job id and checkpoint folder are the run's own). Returns the run."""
        key = signature(request)
        with self._lock:
            run = self._runs.get(key)
            if run is not None and not run.ended:
                for message in run.log:
                    listener(message)  # the run so far, in order, before anything new (under the lock)
                run.listeners[id(watcher)] = listener
                return run
            job_id = uuid.uuid4().hex
            run = SharedRun(job_id, key, self.root / job_id, {id(watcher): listener})
            self._runs[key], self._by_job[job_id] = run, run
        pool.submit(
            replace(request, job_id=job_id, park_in=str(run.park_in)),
            lambda message, run=run: self._broadcast(run, message))
        return run

    def leave(self, watcher: object, job_id: str) -> bool:
        """``watcher`` stops watching the run ``job_id`` and True, while others still watch it (it goes on); False
        when it is the last (it stays attached, and the caller stops the job)."""
        with self._lock:
            run = self._by_job.get(job_id)
            if run is None:
                return False
            if set(run.listeners) <= {id(watcher)}:
                return False  # the last one stays to hear the run end
            run.listeners.pop(id(watcher), None)
            return True

    def watchers(self, job_id: str) -> int:
        """How many students watch the run ``job_id`` (0 for a run that is not shared here)."""
        with self._lock:
            run = self._by_job.get(job_id)
            return len(run.listeners) if run is not None else 0

    def _broadcast(self, run: SharedRun, message: Message) -> None:
        final = isinstance(message, JobFailed | Dropped) or (
            isinstance(message, Events) and any(isinstance(event, Finished | Failed) for event in message.events))
        with self._lock:
            run.log.append(message)
            if isinstance(message, Events) and any(getattr(event, "preview", None) is not None
                                                   for event in message.events):
                if run.picture_at is not None:  # only the latest pictures are kept for a newcomer
                    run.log[run.picture_at] = _without_pictures(run.log[run.picture_at])
                run.picture_at = len(run.log) - 1
            if final:
                run.ended = True
                if self._runs.get(run.signature) is run:
                    del self._runs[run.signature]
            listeners = list(run.listeners.values())
        for listener in listeners:  # each takes its copy of a final state before the folder goes
            try:
                listener(message)
            except Exception:  # one student's job must not cut the others off the run
                log.exception("a shared run's listener failed")
        if final:
            with self._lock:
                self._by_job.pop(run.job_id, None)
            shutil.rmtree(run.folder, ignore_errors=True)


def _without_pictures(message: Message) -> Message:
    if not isinstance(message, Events):
        return message
    return replace(message, events=tuple(replace(event, preview=None) if getattr(event, "preview", None) is not None
                                         else event for event in message.events))
