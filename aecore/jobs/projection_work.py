"""t-SNE and UMAP maps away from the UI process: one worker process per map, shared by every session.

The server asks :func:`shared_projections` for the process-wide
:class:`Projections` and requests a map by its
:class:`~aecore.projection_cache.ProjectionKey` and codes. One map is computed
once however many sessions ask for it: a request for a map already being
computed (or waiting) joins that job. A job runs in a spawned process
(at most ``max_running`` at a time, the others wait in line), which sends a
:class:`~aecore.projection.Frame` as the layout converges and stores the
finished map in the disk cache before its last message (:class:`Done`), so the
map survives even a server that stopped listening.

:func:`current_map` is what a page draws meanwhile, for any codes and key: the
finished map, else the layout so far, else the PCA map, never waiting.

Stop kills the job's process at once (even while it is still finding
neighbours), but only when no other session watches the job. A process that
dies fails its job, never the server.

A worker spends seconds importing torch and openTSNE before its first
iteration (8 s on 2 busy cores). Once a map has been computed, one spare
worker is kept ready for the next (:meth:`Projections.warm_up` starts it
earlier), so only the first map of a server waits for that.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from aecore import projection_cache
from aecore.jobs.pool import WORKER_NAME_PREFIX, interpreter_exiting, worker_process_started, worker_threads
from aecore.latent_map import LatentMap, projected_map, provisional_map
from aecore.projection import METHODS, MIN_NEIGHBOUR_MAP_CODES, Frame, Projection, project, projection_of, warm_up_tsne
from aecore.projection_cache import ProjectionKey

log = logging.getLogger(__name__)

KEPT_JOBS = 64  # ended jobs remembered (their state and last points) for pages still showing them
WORKER_DIED = "the projection worker stopped unexpectedly (it was killed or ran out of memory)"


@dataclass(frozen=True)
class ProjectionRequest:
    """Compute the ``key.method`` map of ``codes`` (N, L) with these settings and store it under ``key``."""

    key: ProjectionKey
    codes: np.ndarray  # (N, L) float32
    perplexity: float = 30.0
    seed: int = 0
    threads: int = 1  # openTSNE's threads in the worker

    @property
    def method(self) -> str:
        return self.key.method


@dataclass(frozen=True)
class Done:
    """The worker's last message: the finished map (count, 2), already stored in the disk cache."""

    points: np.ndarray


@dataclass(frozen=True)
class Failed:
    """The worker's last message when the map could not be computed."""

    message: str


def compute_map(request: ProjectionRequest, send: Callable[[Frame | Done | Failed], None]) -> None:
    """Compute ``request``'s map, sending each frame, then store it in the disk cache and send :class:`Done`
    (or :class:`Failed`). Never raises; ``send`` returning True stops the map (:class:`Failed`). This is what
    a worker process runs."""
    try:
        projection = project(request.codes, request.method, perplexity=request.perplexity, seed=request.seed,
                             progress=send, threads=request.threads)
        points = np.asarray(projection.points, dtype=np.float32)
    except Exception as exc:  # a worker reports every error instead of dying with it
        send(Failed(f"{METHODS[request.method]} failed: {type(exc).__name__}: {exc}"))
        return
    try:
        projection_cache.save(request.key, points)
    except OSError:  # an unwritable cache loses the map for later, not for the pages waiting for it now
        log.warning("could not store the %s map in %s", request.method, projection_cache.cache_dir(), exc_info=True)
    send(Done(points))


def _worker_main(connection) -> None:
    """A worker process: get ready (openTSNE imported and run once) unless a request is already waiting, wait for
    one request, compute it, exit (at once, should the server end first)."""
    worker_process_started()
    try:
        if not connection.poll():
            warm_up_tsne()
    except Exception:  # a failed warm-up only costs the job the time it would have saved
        log.warning("could not warm up t-SNE in a projection worker", exc_info=True)
    try:
        request = connection.recv()
    except (EOFError, OSError):  # the server let this spare worker go
        return
    try:
        compute_map(request, connection.send)
    finally:
        connection.close()


@dataclass(frozen=True)
class ProjectionStatus:
    """A snapshot of a job, for a page to draw.

    ``state``: "waiting" (for a free worker; ``place`` in line), "running", "finished", "stopped" or
    "failed" (``message`` says why). ``stage``, ``done`` and ``total`` are the last frame's;
    ``points`` (N, 2) are the last frame's layout, or the finished map.
    """

    state: str
    stage: str = ""
    done: int = 0
    total: int = 0
    points: np.ndarray | None = None
    message: str = ""
    place: int = 0

    @property
    def final(self) -> bool:
        """The job has ended: no new points will come."""
        return self.state in ("finished", "stopped", "failed")

    @property
    def fraction(self) -> float:
        """Share of the layout done, in [0, 1]."""
        return min(1.0, self.done / self.total) if self.total else 0.0


def status_line(method: str, status: ProjectionStatus | None) -> str:
    """One line on where the ``method`` map stands, and what a page shows meanwhile."""
    label = METHODS[method]
    unit = "iterations" if method == "tsne" else "epochs"
    if status is None:
        return f"{label} is not computed yet: this is the PCA map"
    shown = ("the layout so far" if status.points is not None
             else "the PCA map" if status.final else "the PCA map meanwhile")
    if status.state == "waiting":
        return f"{label} waits for a free worker ({status.place} in line): {shown}"
    if status.state == "running" and status.stage == "neighbours":
        return f"{label}: finding each point's nearest neighbours… {shown}"
    if status.state == "running":
        return f"{label}: {status.done} of {status.total} {unit}, {shown}"
    if status.state == "stopped":
        return f"{label} stopped after {status.done} of {status.total} {unit}: {shown}"
    if status.state == "failed":
        return f"{status.message}: {shown}"
    return f"{label} map"


class ProjectionJob:
    """One map being computed (or waiting, or ended); thread-safe. Pages read :meth:`status`."""

    def __init__(self, request: ProjectionRequest) -> None:
        self.key = request.key
        self.request: ProjectionRequest | None = request  # dropped once sent to a worker (it holds the codes)
        self.watchers: set[str] = set()
        self.process: multiprocessing.process.BaseProcess | None = None
        self._status = ProjectionStatus("waiting")
        self._lock = threading.Lock()

    def status(self) -> ProjectionStatus:
        """What the job is doing now, and its latest points."""
        with self._lock:
            return self._status

    def _update(self, **changes) -> bool:
        """Change the status unless the job has already ended; whether it changed."""
        with self._lock:
            if self._status.final:
                return False
            self._status = replace(self._status, **changes)
            return True

    def _receive(self, message: Frame | Done | Failed) -> None:
        if isinstance(message, Frame):
            points = message.points if message.points is not None else self.status().points
            self._update(state="running", stage=message.stage, done=message.done, total=message.total,
                         points=points)
        elif isinstance(message, Done):
            self._update(state="finished", stage="", done=self.status().total, points=message.points)
        elif isinstance(message, Failed):
            self._update(state="failed", message=message.message)


@dataclass
class _Line:
    waiting: list[ProjectionJob] = field(default_factory=list)
    running: list[ProjectionJob] = field(default_factory=list)


class Projections:
    """The jobs computing maps in worker processes, by key; see the module's description."""

    def __init__(self, max_running: int = 1, threads: int | None = None, *, spare: bool = True) -> None:
        self.max_running = max_running
        self.threads = threads if threads is not None else worker_threads(max_running)
        self.keeps_a_spare = spare
        self._jobs: OrderedDict[str, ProjectionJob] = OrderedDict()  # by key text, oldest first
        self._line = _Line()
        self._context = multiprocessing.get_context("spawn")
        self._serial = itertools.count(1)
        self._spare: tuple[multiprocessing.process.BaseProcess, object] | None = None  # (process, connection)
        self._closed = False
        self._lock = threading.RLock()

    def warm_up(self) -> None:
        """Start the spare worker now, so that even the first map does not wait for its imports."""
        with self._lock:
            if self._spare is None and not self._closed:
                self._spare = self._spawn()

    def request(self, key: ProjectionKey, codes: np.ndarray, *, perplexity: float = 30.0, seed: int = 0,
                watcher: str | None = None) -> ProjectionJob:
        """The job computing the map of ``key``: a finished one when the disk cache has it, the one already
        running or waiting, or a new one (started when a worker is free). ``watcher`` (a session) joins it:
        :meth:`stop` only stops a job nobody else watches. A stopped job starts again; a failed one stays failed
        (asking again would fail again) until :meth:`clear` forgets it."""
        text = key.text()
        with self._lock:
            job = self._jobs.get(text)
            if job is None or job.status().state == "stopped":
                job = ProjectionJob(ProjectionRequest(key, np.ascontiguousarray(codes, dtype=np.float32),
                                                      perplexity, seed, self.threads))
                cached = projection_cache.load(key)
                if cached is not None:
                    job._update(state="finished", points=cached)
                self._remember(text, job)
                if cached is None:
                    self._line.waiting.append(job)
                    self._start_waiting()
            if watcher is not None:
                job.watchers.add(watcher)
            self._number_the_line()
            return job

    def job(self, key: ProjectionKey) -> ProjectionJob | None:
        """The job of ``key``, if one was requested here (and is still remembered)."""
        with self._lock:
            return self._jobs.get(key.text())

    def stop(self, key: ProjectionKey, watcher: str | None = None) -> bool:
        """``watcher`` stops watching the job of ``key``; if no one else watches it, it stops: a waiting job
        leaves the line, a running one's process is killed. Whether the job stopped."""
        with self._lock:
            job = self._jobs.get(key.text())
            if job is None:
                return False
            job.watchers.discard(watcher)
            if job.watchers or not job._update(state="stopped"):
                return False
            if job in self._line.waiting:
                self._line.waiting.remove(job)
            process = job.process
            self._number_the_line()
        if process is not None:
            process.kill()  # its reader thread sees the pipe close, frees the slot and starts the next job
        return True

    def clear(self, key: ProjectionKey) -> None:
        """Forget the job of ``key`` if it ended without a map (stopped or failed): the next request starts it."""
        with self._lock:
            job = self._jobs.get(key.text())
            if job is not None and job.status().state in ("stopped", "failed"):
                del self._jobs[key.text()]

    def forget(self, watcher: str) -> None:
        """``watcher`` (a session that ended) watches nothing any more; its jobs go on for the others, and for
        the disk cache."""
        with self._lock:
            for job in self._jobs.values():
                job.watchers.discard(watcher)

    def shutdown(self) -> None:
        """Stop every job, watched or not, and the spare worker."""
        with self._lock:
            self._closed = True
            jobs = list(self._jobs.values())
            for job in jobs:
                job.watchers.clear()
            spare, self._spare = self._spare, None
        for job in jobs:
            self.stop(job.key)
        if spare is not None:
            spare[1].close()
            spare[0].kill()

    # ------------------------------------------------------------------------------ inside

    def _remember(self, text: str, job: ProjectionJob) -> None:
        self._jobs[text] = job
        self._jobs.move_to_end(text)
        ended = [key for key, other in self._jobs.items() if other.status().final]
        for key in ended[:max(0, len(ended) - KEPT_JOBS)]:
            del self._jobs[key]

    def _number_the_line(self) -> None:
        for place, job in enumerate(self._line.waiting, start=1):
            job._update(place=place)

    def _spawn(self) -> tuple[multiprocessing.process.BaseProcess, object]:
        """A new worker process, and the server's end of its pipe."""
        connection, worker_end = self._context.Pipe()
        # the name keeps the worker from running the parent's __main__ (see aecore.jobs.pool._WorkerProcess)
        process = self._context.Process(target=_worker_main, args=(worker_end,), daemon=True,
                                        name=f"{WORKER_NAME_PREFIX}projection-{next(self._serial)}")
        try:
            process.start()
        finally:
            worker_end.close()  # the worker holds the only other end: the pipe closes when it exits
        return process, connection

    def _start_waiting(self) -> None:
        """Start waiting jobs while workers are free, then keep a spare (called with the lock held). Nothing starts
        while the process ends (its workers are being ended)."""
        if interpreter_exiting():
            return
        while self._line.waiting and len(self._line.running) < self.max_running and not self._closed:
            job = self._line.waiting.pop(0)
            spare, self._spare = self._spare, None
            try:
                if spare is None or not spare[0].is_alive():
                    spare = self._spawn()
            except Exception as exc:  # no process could start
                job._update(state="failed", message=f"could not start a projection worker: {exc}")
                continue
            process, connection = spare
            request, job.process, job.request = job.request, process, None
            job._update(state="running", place=0, stage="neighbours")
            self._line.running.append(job)
            # The request is sent from the job's own thread: a worker just spawned reads it only once its imports
            # are done (2-3 s), and the page that asked must not wait for that (measured: a first map took 2.65 s).
            threading.Thread(target=self._read, args=(job, connection, request), name="aecore-projection-messages",
                             daemon=True).start()
        self._number_the_line()
        # a spare starts once no map is being computed: its imports would slow the one that is
        if self.keeps_a_spare and self._spare is None and self._jobs and not self._line.running and not self._closed:
            try:
                self._spare = self._spawn()
            except Exception:
                log.warning("could not start a spare projection worker", exc_info=True)

    def _read(self, job: ProjectionJob, receiver, request) -> None:
        """Send ``request`` to the job's worker, then pass its messages to the job until it ends or its process
        exits, then free its slot."""
        try:
            try:
                receiver.send(request)
            except (OSError, ValueError):  # the worker died as it was handed the job: failed below, as any death
                return
            while True:
                try:
                    message = receiver.recv()
                except (EOFError, OSError):  # the process exited (or was killed)
                    break
                job._receive(message)
        except Exception:
            log.exception("could not read a projection worker's message")
        finally:
            receiver.close()
            job.process.join(timeout=10)
            if job.process.is_alive():  # it stopped talking without exiting
                job.process.kill()
            job._update(state="failed", message=WORKER_DIED)  # unless it ended: finished, failed or stopped
            with self._lock:
                if job in self._line.running:
                    self._line.running.remove(job)
                self._start_waiting()


_projections: Projections | None = None
_projections_lock = threading.Lock()


def shared_projections() -> Projections:
    """This process's projection jobs, made on first use and shared by every browser session."""
    global _projections
    with _projections_lock:
        if _projections is None:
            _projections = Projections()
        return _projections


def current_map(key: ProjectionKey, codes: np.ndarray, pca: Projection, *, perplexity: float = 30.0,
                start: bool = True, watcher: str | None = None) -> LatentMap:
    """The ``key.method`` map of ``codes`` (N, L) as it is now, never waiting for it: the finished map (from the
    disk cache or its job), else the layout so far, else ``pca`` (their PCA projection), with a note saying
    which. ``start`` requests the shared job (joined by ``watcher``); otherwise it is only looked up. Fewer codes
    than t-SNE and UMAP need get their PCA map with a note, and no job."""
    if len(codes) < MIN_NEIGHBOUR_MAP_CODES:
        return projected_map(project(codes, key.method))
    points = projection_cache.load(key)
    if points is not None:
        return projected_map(projection_of(codes, key.method, points))
    projections = shared_projections()
    job = projections.request(key, codes, perplexity=perplexity, watcher=watcher) if start else projections.job(key)
    status = job.status() if job is not None else None
    if status is not None and status.state == "finished":
        return projected_map(projection_of(codes, key.method, status.points))
    return provisional_map(codes, pca, key.method, status.points if status is not None else None,
                           status_line(key.method, status))
