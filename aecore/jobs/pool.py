"""Where training jobs run: a pool of worker processes per device type, first come first served.

:class:`JobPool` is the interface the dashboard uses; :class:`LocalPool`
implements it on this machine with one ``concurrent.futures.ProcessPoolExecutor``
(spawn context) per device type, sized by its slots: one job per CPU machine,
two per GPU. Messages (see :mod:`aecore.jobs.work`) come back through one
multiprocessing queue and are handed to each job's listener by one collector
thread. A worker that dies (killed, out of memory) breaks its executor: the job
it was running fails with a message, the jobs still waiting are put on a fresh
executor, and the server goes on.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import multiprocessing.spawn
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field

import torch

from aecore.config import DataConfig
from aecore.events import Failed, Finished, Started, Step
from aecore.jobs.work import Claimed, Dropped, Events, JobFailed, Message, TrainRequest, run_training, warm_up
from aecore.thread_dumps import dump_threads_on_sigusr1
from aecore.training import resolve_device

log = logging.getLogger(__name__)

Listener = Callable[[Message], None]
MAX_JOBS = 65_536  # stop flags shared with the workers; a flag is reused once its job and its call have ended
DEFAULT_JOB_SECONDS = 60.0  # the guess for a queued job's length before any job has finished here
WORKER_DIED = ("the training worker stopped unexpectedly (it was killed or ran out of memory); "
               "the run keeps its last saved state: try Resume, or a smaller batch or model")


def default_slots() -> dict[str, int]:
    """Concurrent jobs per device type: one on the CPUs (they share the cores), two per GPU."""
    return {"cpu": 1, "cuda": 2 * max(1, torch.cuda.device_count())}


def worker_threads(slots: int) -> int:
    """Torch threads per CPU worker: the cores shared by the slots, less one left to the web server.

    Measured on 2 cores with five browser sessions: a worker with 2 threads fell from 30 to 2.5 steps/s,
    its OpenMP threads waiting on each other whenever the server or a browser took a core; with one
    thread it keeps most of its speed. ``AECORE_WORKER_THREADS`` overrides.
    """
    if os.environ.get("AECORE_WORKER_THREADS"):
        return max(1, int(os.environ["AECORE_WORKER_THREADS"]))
    return max(1, ((os.cpu_count() or 1) - 1) // max(1, slots))


def device_type(request: TrainRequest) -> str:
    """"cuda" or "cpu": the slots a request needs (its config's device, "auto" resolved here)."""
    return resolve_device(request.config.train.device).type


@dataclass
class QueueInfo:
    """Where a waiting job stands: its place in line (1 = next), and a rough wait in seconds."""

    place: int
    waiting: int
    busy: int
    slots: int
    wait_s: float | None


@dataclass
class _Entry:
    request: TrainRequest
    listener: Listener
    device: str
    claimed: bool = False
    final: bool = False  # its last message is delivered (or it was dropped)
    future: Future | None = None
    flag: int = -1
    generation: int = 0
    claimed_at: float = 0.0
    steps_done: int = 0
    steps_total: int = 0
    extra: dict = field(default_factory=dict)

    def eta_s(self) -> float | None:
        if not self.claimed or not self.steps_done or not self.steps_total:
            return None
        elapsed = time.monotonic() - self.claimed_at
        return elapsed / self.steps_done * max(0, self.steps_total - self.steps_done)


class JobPool(ABC):
    """Runs :class:`TrainRequest` s away from the UI process and reports their messages to listeners.

    Listeners are called from a background thread, in the order each job's messages were sent, and
    must return quickly. A job's last message is its final event (Finished or Failed), a
    :class:`JobFailed` or a :class:`Dropped`.
    """

    def __init__(self, slots: dict[str, int] | None = None) -> None:
        self.slots = dict(default_slots() if slots is None else slots)
        self._jobs: dict[str, _Entry] = {}
        self._lock = threading.RLock()
        self._durations: dict[str, list[float]] = {}

    # ------------------------------------------------------------------------------ interface

    def submit(self, request: TrainRequest, listener: Listener) -> None:
        """Queue ``request``; it runs when a slot of its device type is free, in the order submitted."""
        entry = _Entry(request, listener, device_type(request))
        with self._lock:
            if request.job_id in self._jobs:
                raise ValueError(f"job {request.job_id} is already in the pool")
            self._jobs[request.job_id] = entry
            self._launch(entry)

    def stop(self, job_id: str) -> None:
        """Stop a running job at its next step; a waiting job leaves the queue at once."""
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None:
                return
            self._signal_stop(entry)  # a worker that takes a dropped job skips it
            dropped = not entry.claimed
            if dropped:
                self._cancel(entry)
                self._finish(entry)
        if dropped:
            entry.listener(Dropped(job_id))

    def queue_info(self, job_id: str) -> QueueInfo | None:
        """Where a waiting job stands, or None if it is running or unknown."""
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or entry.claimed:
                return None
            same_device = [e for e in self._jobs.values() if e.device == entry.device]
            waiting = [e for e in same_device if not e.claimed]
            running = [e for e in same_device if e.claimed]
            place = waiting.index(entry) + 1
            slots = self.slots.get(entry.device, 1)
            etas = [eta for eta in (e.eta_s() for e in running) if eta is not None]
            typical = self._typical_duration(entry.device)
            wait = None
            if len(etas) == len(running):
                wait = (sum(etas) + (place - 1) * typical) / slots if len(running) >= slots else 0.0
            return QueueInfo(place, len(waiting), len(running), slots, wait)

    def busy(self, device: str) -> int:
        """Jobs of ``device`` type a worker is running now."""
        with self._lock:
            return sum(1 for e in self._jobs.values() if e.device == device and e.claimed)

    @abstractmethod
    def shutdown(self) -> None:
        """Stop every job and the workers."""

    # ------------------------------------------------------------------------------ for subclasses

    @abstractmethod
    def _launch(self, entry: _Entry) -> None:
        """Hand ``entry`` to the engine (called with the lock held)."""

    @abstractmethod
    def _cancel(self, entry: _Entry) -> None:
        """Take a waiting entry back from the engine, if it still can (its stop is signalled anyway)."""

    @abstractmethod
    def _signal_stop(self, entry: _Entry) -> None:
        """Ask the worker running ``entry`` to stop."""

    def _release(self, entry: _Entry) -> None:  # noqa: B027  (most engines hold nothing per job)
        """Free what a final ``entry`` held (called with the lock held)."""

    def _finish(self, entry: _Entry) -> None:
        entry.final = True
        self._jobs.pop(entry.request.job_id, None)
        self._release(entry)

    def _deliver(self, message: Message) -> None:
        """Pass a worker's message to its job's listener, and keep the pool's books."""
        with self._lock:
            entry = self._jobs.get(message.job_id)
            if entry is None:
                return
            if self._book(entry, message):
                self._finish(entry)
        try:
            entry.listener(message)
        except Exception:  # a listener's bug must not stop the messages of every other job
            log.exception("job listener failed")

    def _handle(self, message: Message | tuple[str, str]) -> None:
        """One item of the engine's message queue: a worker's message, or ("worker-died", job id)."""
        try:
            if isinstance(message, tuple):
                self._worker_died(message[1])
            else:
                self._deliver(message)
        except Exception:  # the collector thread must go on for every other job
            log.exception("could not handle a job message")

    def _worker_died(self, job_id: str) -> None:
        """A job's worker is gone: fail it if it had started, else queue it again."""
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None:
                return
            if not entry.claimed:
                self._launch(entry)
                return
        self._deliver(JobFailed(job_id, WORKER_DIED))

    def _book(self, entry: _Entry, message: Message) -> bool:
        if isinstance(message, Claimed):
            entry.claimed, entry.claimed_at = True, time.monotonic()
            return False
        if isinstance(message, JobFailed | Dropped):
            return True
        if isinstance(message, Events):
            for event in message.events:
                if isinstance(event, Started):
                    entry.steps_total = (event.epochs - event.start_epoch) * event.steps_per_epoch
                elif isinstance(event, Step):
                    entry.steps_done += 1
                elif isinstance(event, Finished | Failed):
                    self._durations.setdefault(entry.device, []).append(time.monotonic() - entry.claimed_at)
                    self._durations[entry.device] = self._durations[entry.device][-10:]
                    return True
        return False

    def _typical_duration(self, device: str) -> float:
        durations = self._durations.get(device)
        return sum(durations) / len(durations) if durations else DEFAULT_JOB_SECONDS


# ---------------------------------------------------------------------------------------- local processes

WORKER_NAME_PREFIX = "aecore-worker-"


class _WorkerProcess(multiprocessing.context.SpawnProcess):
    """A spawned worker that does not run the parent's ``__main__`` again.

    Spawned children normally re-run the parent's main module. Under Streamlit that module is the
    page script (Streamlit installs each script as ``sys.modules["__main__"]``): a worker would run
    app.py, whose warm-up starts a worker, which runs app.py... (measured: a chain of processes of
    1.9 GB each). Workers import what they run by name instead.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.name = WORKER_NAME_PREFIX + self.name


class _WorkerContext(multiprocessing.context.SpawnContext):
    Process = _WorkerProcess


_preparation_data = multiprocessing.spawn.get_preparation_data


def _preparation_data_without_main(name: str) -> dict:
    data = _preparation_data(name)
    if name.startswith(WORKER_NAME_PREFIX):
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


multiprocessing.spawn.get_preparation_data = _preparation_data_without_main  # read at each spawn

_messages = None  # in a worker: the queue back to the server
_stop_flags = None  # in a worker: the shared stop flags


def exit_with_parent() -> None:
    """In a worker process: end it as soon as the process that started it has ended.

    A pool worker waiting for its next job never notices on its own: it holds the write end of the queue it
    reads, so the queue never reports the parent gone. Stopping ``make run`` or a crashed server otherwise
    left every worker behind (about 1.2 GB each, found by the dozen after a day of tests and benchmarks).
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def wait_then_exit() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=wait_then_exit, name="aecore-exit-with-parent", daemon=True).start()


_EXITING = threading.Event()  # set at exit, before multiprocessing's own handler (registered earlier, runs later)
atexit.register(_EXITING.set)


def interpreter_exiting() -> bool:
    """Whether this process is ending. multiprocessing then ends the worker processes; a pool that started a
    replacement (or a spare) then would see it fail to read its start-up data, with a traceback on the terminal."""
    return _EXITING.is_set()


def worker_process_started() -> None:
    """First thing in a worker process: it ends with its parent (:func:`exit_with_parent`), and ``kill -USR1``
    writes its threads' stacks to the server's log (:mod:`aecore.thread_dumps`)."""
    exit_with_parent()
    dump_threads_on_sigusr1()


def _init_worker(messages, stop_flags, threads: int) -> None:
    global _messages, _stop_flags
    _messages, _stop_flags = messages, stop_flags
    torch.set_num_threads(threads)
    worker_process_started()


class _StopFlag:
    def __init__(self, index: int) -> None:
        self.index = index

    def is_set(self) -> bool:
        return bool(_stop_flags[self.index])


def _work(request: TrainRequest, flag: int) -> None:
    stop = _StopFlag(flag)
    if not stop.is_set():  # set: the job was dropped while it waited in the executor's call queue
        run_training(request, _messages.put, stop)


class LocalPool(JobPool):
    """Worker processes on this machine: one spawn-context ProcessPoolExecutor per device type."""

    def __init__(self, slots: dict[str, int] | None = None) -> None:
        super().__init__(slots)
        self._context = _WorkerContext()
        self._messages = self._context.Queue()
        self._stop_flags = self._context.RawArray("b", MAX_JOBS)
        self._free_flags = list(range(MAX_JOBS))
        self._executors: dict[str, tuple[ProcessPoolExecutor, int]] = {}
        self._broken: set[tuple[str, int]] = set()
        self._closed = False
        threading.Thread(target=self._collect, name="aecore-job-messages", daemon=True).start()

    def warm_up(self, data: DataConfig | None = None, device: str = "cpu") -> Future:
        """Start a worker now (torch imported, ``data`` loaded) so that the first Start does not wait."""
        with self._lock:
            executor, _ = self._executor(device)
            return executor.submit(warm_up, data)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            for entry in self._jobs.values():
                self._signal_stop(entry)
            executors = [executor for executor, _ in self._executors.values()]
            self._executors.clear()
        for executor in executors:
            executor.shutdown(wait=False, cancel_futures=True)
        self._messages.put(None)

    def _executor(self, device: str) -> tuple[ProcessPoolExecutor, int]:
        current = self._executors.get(device)
        if current is not None and (device, current[1]) not in self._broken:
            return current
        generation = current[1] + 1 if current else 0
        if current is not None:
            current[0].shutdown(wait=False, cancel_futures=False)
        slots = self.slots.get(device, 1)
        threads = worker_threads(slots) if device == "cpu" else 1
        executor = ProcessPoolExecutor(max_workers=slots, mp_context=self._context, initializer=_init_worker,
                                       initargs=(self._messages, self._stop_flags, threads))
        self._executors[device] = (executor, generation)
        return executor, generation

    def _launch(self, entry: _Entry) -> None:
        if self._closed:
            raise RuntimeError("the job pool is shut down")
        if entry.flag < 0:
            entry.flag = self._free_flags.pop(0)
        self._stop_flags[entry.flag] = 0
        executor, entry.generation = self._executor(entry.device)
        entry.future = executor.submit(_work, entry.request, entry.flag)
        entry.future.add_done_callback(lambda future, e=entry: self._on_done(e, future))

    def _on_done(self, entry: _Entry, future: Future) -> None:
        with self._lock:
            if entry.final:
                self._release(entry)
        if future.cancelled():
            return
        error = future.exception()
        if isinstance(error, BrokenExecutor):
            with self._lock:
                self._broken.add((entry.device, entry.generation))
            self._messages.put(("worker-died", entry.request.job_id))  # after anything the worker sent
        elif error is not None:
            self._messages.put(JobFailed(entry.request.job_id, f"the job could not run: {error}"))

    def _cancel(self, entry: _Entry) -> None:
        if entry.future is not None:
            entry.future.cancel()

    def _signal_stop(self, entry: _Entry) -> None:
        if entry.flag >= 0:
            self._stop_flags[entry.flag] = 1

    def _release(self, entry: _Entry) -> None:
        # a flag is reused only once no worker can still read it for this entry
        if entry.flag >= 0 and (entry.future is None or entry.future.done()):
            self._free_flags.append(entry.flag)
            entry.flag = -1

    def _collect(self) -> None:
        while True:
            try:
                message = self._messages.get()
            except (EOFError, OSError):  # the process is exiting and the queue is gone
                return
            if message is None:
                return
            self._handle(message)
