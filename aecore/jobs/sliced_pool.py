"""Every student's job trains at once: time slices over a pool of worker processes, least attained service first.

A first-come queue makes the k-th student of a class wait for k-1 whole runs.
:class:`SlicedPool` (after Gandiva, OSDI'18, and Tiresias, NSDI'19) gives each
active job short slices of a worker's time (:data:`SLICE_S`, ended at a batch
boundary), always to the job that has had the least so far, so a job that just
started gets its first steps within a slice or two, and every running job gets
an equal share. A job lives in one worker from its first slice to its end (see
:class:`~aecore.jobs.work.TrainingCall`): between slices its model, optimiser,
data position and random state wait in that worker's memory, so a switch costs
nothing and a sliced run gives the same losses as one run alone. The teacher's
jobs (``TrainRequest.priority`` > 0) go before the class's.

Each worker has a pipe for its slices and its answers; fit()'s messages come
back through one queue, as in :class:`~aecore.jobs.pool.LocalPool`. A worker
that dies fails the job whose slice it was running; its other jobs start again
in a fresh worker from their last checkpoint.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from aecore.checkpoints import recovered_run_folder
from aecore.config import DataConfig
from aecore.jobs.pool import (
    WORKER_DIED,
    JobPool,
    QueueInfo,
    _Entry,
    _WorkerContext,
    interpreter_exiting,
    worker_process_started,
)
from aecore.jobs.work import JobFailed, TrainingCall, warm_up

log = logging.getLogger(__name__)

SLICE_S = 0.5  # a worker's time given to one job at a time
FIRST_SLICE_S = 0.1  # a job's first slice: its first steps show at once, and thirty newcomers wait less
OVERRUN_WARNING_S = 30.0  # a slice still running this long after it was sent is logged (once): a stuck worker


def default_workers() -> int:
    """Worker processes: one per two cores beyond the one left to the web server (at least one);
    ``AECORE_WORKERS`` overrides."""
    if os.environ.get("AECORE_WORKERS"):
        return max(1, int(os.environ["AECORE_WORKERS"]))
    return max(1, ((os.cpu_count() or 1) - 1) // 2)


class _Stop:
    """A job's stop flag inside the worker, set by the slice that carries it."""

    def __init__(self) -> None:
        self.value = False

    def is_set(self) -> bool:
        return self.value


class SliceRunner:
    """What a worker does with the slices it is given: each job's call kept between its slices (a process here,
    a Ray actor in :mod:`aecore.jobs.ray_pool`)."""

    def __init__(self, send) -> None:
        self._send = send
        self._calls: dict[str, tuple[TrainingCall, _Stop]] = {}

    def run(self, job_id: str, request, seconds: float, stop: bool) -> tuple[str, bool]:
        """Give ``job_id`` a slice of ``seconds`` (its stop flag set to ``stop``); (job id, whether it ended)."""
        if job_id not in self._calls:
            flag = _Stop()
            self._calls[job_id] = TrainingCall(request, self._send, flag), flag
        call, flag = self._calls[job_id]
        flag.value = stop
        ended = call.advance(seconds)
        if ended:
            del self._calls[job_id]
        return job_id, ended


def _worker_main(connection, messages, threads: int) -> None:
    """A worker process: run the slices the server sends, keeping each job's call between its slices."""
    torch.set_num_threads(threads)
    worker_process_started()
    runner = SliceRunner(messages.put)
    while True:
        try:
            command = connection.recv()
        except (EOFError, OSError):
            return
        if command is None:
            return
        kind, job_id, payload = command
        if kind == "warm-up":
            warm_up(payload)
            continue
        connection.send(runner.run(job_id, *payload))


@dataclass
class _Job:
    entry: _Entry
    order: int
    worker: int
    attained: float = 0.0  # seconds of slices given
    sliced: bool = False  # had its first slice
    stop: bool = False
    running: bool = False


class _Worker:
    """A worker process and its pipe: ``send`` a command, ``receive`` a slice's answer (EOFError once it died)."""

    def __init__(self, index: int, context, messages, threads: int) -> None:
        self.index = index
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, messages, threads), daemon=True)
        self.process.start()
        child.close()
        self.busy: str | None = None  # the job whose slice runs now
        self.sent_at = 0.0  # when that slice was sent (time.monotonic())
        self.overrun_logged = False

    def send(self, command) -> None:
        self.connection.send(command)

    def receive(self) -> tuple[str, bool]:
        return self.connection.recv()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.send(None)


class SlicedPool(JobPool):
    """Jobs in time slices over ``workers`` processes, least attained service first (see the module)."""

    def __init__(self, workers: int | None = None, *, slice_s: float = SLICE_S, threads: int | None = None) -> None:
        workers = workers or default_workers()
        super().__init__({"cpu": workers, "cuda": workers})
        self.slice_s = slice_s
        self._threads = threads or max(1, ((os.cpu_count() or 1) - 1) // workers)
        self._order = itertools.count()
        self._sliced: dict[str, _Job] = {}
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._open_messages()
        self._workers = [self._start_worker(i) for i in range(workers)]
        threading.Thread(target=self._schedule, name="aecore-slice-scheduler", daemon=True).start()

    # ------------------------------------------------------------------------------ interface

    def warm_up(self, data: DataConfig | None = None) -> None:
        """Import torch's optimisers and load ``data`` in every worker ahead of the first job."""
        with self._lock:
            for worker in self._workers:
                worker.send(("warm-up", "", data))

    def share(self, job_id: str) -> float | None:
        """The share of its worker ``job_id`` trains with now (1.0 alone, 0.1 beside nine others); None if unknown."""
        with self._lock:
            job = self._sliced.get(job_id)
            if job is None:
                return None
            return 1.0 / sum(1 for other in self._sliced.values() if other.worker == job.worker)

    def queue_info(self, job_id: str) -> QueueInfo | None:
        """Where a job that has not had its first slice stands: its place among the newcomers of its worker, and a
        wait of a first slice for each before it (plus the slice running now); None once it trains."""
        with self._lock:
            job = self._sliced.get(job_id)
            if job is None or job.sliced:
                return None
            newcomers = sorted((other for other in self._sliced.values()
                                if other.worker == job.worker and not other.sliced), key=lambda other: other.order)
            place = newcomers.index(job) + 1
            training = sum(1 for other in self._sliced.values() if other.sliced)
            return QueueInfo(place, len(newcomers), training, len(self._workers),
                             place * FIRST_SLICE_S + self.slice_s)

    def busy(self, device: str) -> int:
        with self._lock:
            return sum(1 for job in self._sliced.values() if job.sliced)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            for worker in self._workers:
                worker.close()
        self._close_messages()

    # ------------------------------------------------------------------------------ JobPool hooks

    def _launch(self, entry: _Entry) -> None:
        if self._closed:
            raise RuntimeError("the job pool is shut down")
        load = [sum(1 for job in self._sliced.values() if job.worker == w.index) for w in self._workers]
        worker = load.index(min(load))
        self._sliced[entry.request.job_id] = _Job(entry, next(self._order), worker)
        self._wake.notify_all()

    def _cancel(self, entry: _Entry) -> None:
        job = self._sliced.get(entry.request.job_id)
        if job is not None and not job.sliced and not job.running:
            del self._sliced[entry.request.job_id]

    def _signal_stop(self, entry: _Entry) -> None:
        job = self._sliced.get(entry.request.job_id)
        if job is not None:
            job.stop = True
            self._wake.notify_all()

    # ------------------------------------------------------------------------------ inside

    def _open_messages(self) -> None:
        """The queue fit()'s messages come back through, and the thread that hands them on."""
        self._context = _WorkerContext()
        self._messages = self._context.Queue()
        threading.Thread(target=self._collect, name="aecore-slice-messages", daemon=True).start()

    def _close_messages(self) -> None:
        self._messages.put(None)

    def _new_worker(self, index: int) -> _Worker:
        return _Worker(index, self._context, self._messages, self._threads)

    def _start_worker(self, index: int) -> _Worker:
        worker = self._new_worker(index)
        threading.Thread(target=self._answers, args=(worker,), name=f"aecore-slice-answers-{index}",
                         daemon=True).start()
        return worker

    def _next_job(self, worker: _Worker) -> _Job | None:
        """The job this worker runs next: a stop first, then the teacher's, then the least attained service."""
        mine = [job for job in self._sliced.values() if job.worker == worker.index and not job.running]
        if not mine:
            return None
        return min(mine, key=lambda job: (not job.stop, -job.entry.request.priority, job.attained, job.order))

    def _schedule(self) -> None:
        with self._lock:
            while not self._closed:
                for worker in self._workers:
                    if worker.busy is not None:
                        continue
                    job = self._next_job(worker)
                    if job is None:
                        continue
                    seconds = self.slice_s if job.sliced else FIRST_SLICE_S
                    job.running, job.sliced, worker.busy = True, True, job.entry.request.job_id
                    job.attained += seconds
                    worker.sent_at, worker.overrun_logged = time.monotonic(), False
                    with contextlib.suppress(OSError):  # a worker gone: its answers thread says what to do
                        worker.send(("slice", worker.busy, (job.entry.request, seconds, job.stop)))
                self._log_overruns()
                self._wake.wait(timeout=1.0)

    def _log_overruns(self) -> None:
        """Say in the server's log when a worker has not answered a slice for OVERRUN_WARNING_S: its other jobs
        wait meanwhile (a slice ends at a batch boundary, so only a stuck worker or a very slow batch does this)."""
        now = time.monotonic()
        for worker in self._workers:
            if worker.busy is not None and not worker.overrun_logged and now - worker.sent_at > OVERRUN_WARNING_S:
                worker.overrun_logged = True
                waiting = sum(1 for job in self._sliced.values() if job.worker == worker.index and not job.running)
                log.warning("training worker %d (pid %s) has run a slice of job %s for %.0f s; %d other job(s) of "
                            "its wait", worker.index, worker.process.pid, worker.busy, now - worker.sent_at, waiting)

    def _answers(self, worker: _Worker) -> None:
        while True:
            try:
                job_id, ended = worker.receive()
            except (EOFError, OSError):
                self._worker_died(worker)
                return
            except Exception:  # an answer that cannot be read: the worker cannot be trusted with its jobs
                log.exception("training worker %d sent an unreadable answer; starting a fresh one", worker.index)
                worker.process.kill()
                self._worker_died(worker)
                return
            with self._lock:
                worker.busy = None
                job = self._sliced.get(job_id)
                if job is not None:
                    job.running = False
                    if ended:
                        del self._sliced[job_id]
                self._wake.notify_all()

    def _worker_died(self, worker: _Worker) -> None:
        """Fail the job whose slice the worker ran; start its other jobs again, in a fresh worker, from their last
        checkpoint (or from the start)."""
        with self._lock:
            if self._closed or interpreter_exiting():
                return
            failed = worker.busy
            worker.busy = None
            orphans = [job for job in self._sliced.values() if job.worker == worker.index]
            for job in orphans:
                del self._sliced[job.entry.request.job_id]
            self._workers[worker.index] = self._start_worker(worker.index)
            for job in orphans:
                if job.entry.request.job_id == failed:
                    continue
                request = job.entry.request
                folder = recovered_run_folder(Path(request.park_in))
                if folder is not None:
                    request = replace(request, resume_from=str(folder))
                job.entry.request = request
                self._sliced[request.job_id] = _Job(job.entry, job.order, worker.index, job.attained,
                                                     stop=job.stop)
            self._wake.notify_all()
        if failed is not None:
            self._handle(JobFailed(failed, WORKER_DIED))

    def _collect(self) -> None:
        while True:
            try:
                message = self._messages.get()
            except (EOFError, OSError, TypeError):  # the queue closed under it as the process exits
                return
            if message is None:
                return
            self._handle(message)

