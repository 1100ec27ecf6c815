"""The job pools on Ray: a local Ray instance or a cluster of GPU machines.

:class:`RaySlicedPool` (what ``AECORE_JOBS=ray`` gives) is the class's
time-sliced pool with Ray actors for workers: Ray places the actors on the
cluster's nodes, and the turns stay the pool's (least attained service first,
the teacher first; :mod:`aecore.jobs.sliced_pool`). :class:`RayPool` runs each
:class:`~aecore.jobs.work.TrainRequest` to its end as a Ray task that asks for
one CPU, or half a GPU when the run wants one and the cluster has GPUs; Stop is
a flag in a small actor that the task reads at most every STOP_POLL_S seconds.
Messages come back through a ``ray.util.queue.Queue``. Ray is optional: this
module imports it only when a pool is made.
"""

from __future__ import annotations

import logging
import queue as queues
import threading
import time

import torch

from aecore.jobs.pool import JobPool, _Entry
from aecore.jobs.sliced_pool import SLICE_S, SlicedPool, SliceRunner
from aecore.jobs.work import JobFailed, TrainRequest, run_training, warm_up

log = logging.getLogger(__name__)

STOP_POLL_S = 0.5


class StopBoard:
    """A Ray actor holding the ids of the jobs asked to stop."""

    def __init__(self) -> None:
        self._stopped: set[str] = set()

    def stop(self, job_id: str) -> None:
        self._stopped.add(job_id)

    def is_stopped(self, job_id: str) -> bool:
        return job_id in self._stopped


class RayStopFlag:
    """A job's stop flag in a :class:`StopBoard`, read at most every STOP_POLL_S seconds."""

    def __init__(self, board, job_id: str) -> None:
        self._board, self._job_id = board, job_id
        self._checked, self._stopped = 0.0, False

    def is_set(self) -> bool:
        import ray

        if not self._stopped and time.monotonic() - self._checked >= STOP_POLL_S:
            self._checked = time.monotonic()
            self._stopped = ray.get(self._board.is_stopped.remote(self._job_id))
        return self._stopped


def ray_work(request: TrainRequest, queue, board) -> None:
    """A Ray task: run one request, reporting through the queue actor."""
    run_training(request, queue.put, RayStopFlag(board, request.job_id))


def init_ray_for_good(**options) -> None:
    """``ray.init(**options)`` in a thread that lives as long as the process, whichever thread asks.

    Ray's GCS and raylet end with the thread that called ``ray.init()``, and Ray then ends the process: a pool
    first made by a page's script thread (which ends with the script) took the whole dashboard down about 60 s
    after a student pressed Start ("Failed to connect to GCS within 60 seconds ... The program will terminate").
    """
    import ray

    ready, errors = threading.Event(), []

    def start_then_stay() -> None:
        try:
            ray.init(**options)
        except Exception as exc:  # raised in the caller's thread below
            errors.append(exc)
        finally:
            ready.set()
        threading.Event().wait()  # this thread holds Ray's processes until the process exits

    threading.Thread(target=start_then_stay, name="aecore-ray", daemon=True).start()
    ready.wait()
    if errors:
        raise errors[0]


class RayPool(JobPool):
    """Jobs as Ray tasks. ``address``: None or "local" starts a local Ray; "auto" or "ray://host:10001"
    joins a running cluster."""

    def __init__(self, address: str | None = None, slots: dict[str, int] | None = None) -> None:
        import ray
        from ray.util.queue import Queue

        local = address in (None, "", "local")
        super().__init__(slots)
        if not ray.is_initialized():
            if local:
                init_ray_for_good(num_cpus=self.slots.get("cpu", 1), include_dashboard=False, log_to_driver=False)
            else:
                init_ray_for_good(address=address, log_to_driver=False)
        self._ray = ray
        self._gpus = ray.cluster_resources().get("GPU", 0)
        self._queue = Queue()
        self._board = ray.remote(StopBoard).remote()
        self._task = ray.remote(max_retries=0)(ray_work)
        self._closed = False
        threading.Thread(target=self._collect, name="aecore-ray-messages", daemon=True).start()

    def _wants_gpu(self, request: TrainRequest) -> bool:
        device = request.config.train.device
        return self._gpus > 0 and (device == "auto" or device.startswith("cuda"))

    def _launch(self, entry: _Entry) -> None:
        resources = {"num_cpus": 1, "num_gpus": 0.5} if self._wants_gpu(entry.request) else {"num_cpus": 1}
        entry.device = "cuda" if "num_gpus" in resources else "cpu"
        ref = self._task.options(**resources).remote(entry.request, self._queue, self._board)
        entry.future = ref.future()
        entry.extra["ref"] = ref
        entry.future.add_done_callback(lambda future, job_id=entry.request.job_id: self._on_done(job_id, future))

    def _on_done(self, job_id: str, future) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is None or isinstance(error, self._ray.exceptions.TaskCancelledError):
            return
        if isinstance(error, self._ray.exceptions.RayTaskError):
            self._queue.put(JobFailed(job_id, f"the job could not run: {error}"))
        else:  # the worker process died (killed, out of memory) or its node was lost
            self._queue.put(("worker-died", job_id))

    def _cancel(self, entry: _Entry) -> None:
        self._ray.cancel(entry.extra["ref"])

    def _signal_stop(self, entry: _Entry) -> None:
        self._board.stop.remote(entry.request.job_id)

    def shutdown(self) -> None:
        self._closed = True
        with self._lock:
            for entry in self._jobs.values():
                self._signal_stop(entry)
        self._queue.put(None)

    def _collect(self) -> None:
        while not self._closed:
            try:
                message = self._queue.get(block=True, timeout=1.0)
            except Exception:  # ray.util.queue.Empty, or the queue actor is gone at shutdown
                continue
            if message is None:
                return
            self._handle(message)


class SliceActor:
    """A Ray actor that runs a :class:`RaySlicedPool`'s slices, keeping each job's call between them."""

    def __init__(self, messages, threads: int) -> None:
        torch.set_num_threads(threads)
        self._runner = SliceRunner(messages.put)

    def warm_up(self, data) -> None:
        warm_up(data)

    def run(self, job_id: str, request: TrainRequest, seconds: float, stop: bool) -> tuple[str, bool]:
        return self._runner.run(job_id, request, seconds, stop)


class _ActorWorker:
    """A :class:`SliceActor` as a :class:`~aecore.jobs.sliced_pool.SlicedPool` worker: ``send`` a command,
    ``receive`` a slice's answer (EOFError once the actor died)."""

    def __init__(self, index: int, actor) -> None:
        self.index, self.actor = index, actor
        self.busy: str | None = None
        self._answers: queues.Queue = queues.Queue()  # the slices' results, in the order they were asked

    def send(self, command) -> None:
        kind, job_id, payload = command
        if kind == "warm-up":
            self.actor.warm_up.remote(payload)
        else:
            self._answers.put(self.actor.run.remote(job_id, *payload))

    def receive(self) -> tuple[str, bool]:
        import ray

        answer = self._answers.get()
        if answer is None:
            raise EOFError("the worker was closed")
        try:
            return ray.get(answer)
        except ray.exceptions.RayActorError as exc:  # the actor died (killed, out of memory, its node lost)
            raise EOFError(str(exc)) from None

    def close(self) -> None:
        import ray

        self._answers.put(None)
        ray.kill(self.actor)


class RaySlicedPool(SlicedPool):
    """:class:`~aecore.jobs.sliced_pool.SlicedPool` with Ray actors for workers (one CPU each; ``workers`` defaults
    to the cluster's CPUs less one). ``address``: None or "local" starts a local Ray; "auto" or "ray://host:10001"
    joins a running cluster."""

    def __init__(self, address: str | None = None, workers: int | None = None, *, slice_s: float = SLICE_S) -> None:
        import ray

        if not ray.is_initialized():
            if address in (None, "", "local"):
                init_ray_for_good(include_dashboard=False, log_to_driver=False)
            else:
                init_ray_for_good(address=address, log_to_driver=False)
        self._ray = ray
        self._actor_class = ray.remote(num_cpus=1, max_restarts=0)(SliceActor)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        super().__init__(workers or max(1, cpus - 1), slice_s=slice_s, threads=1)

    def _open_messages(self) -> None:
        from ray.util.queue import Queue

        self._messages = Queue()
        threading.Thread(target=self._collect_from_ray, name="aecore-ray-slice-messages", daemon=True).start()

    def _close_messages(self) -> None:
        self._messages.put(None)

    def _new_worker(self, index: int) -> _ActorWorker:
        return _ActorWorker(index, self._actor_class.remote(self._messages, 1))

    def _collect_from_ray(self) -> None:
        while not self._closed:
            try:
                message = self._messages.get(block=True, timeout=1.0)
            except Exception:  # ray.util.queue.Empty, or the queue actor is gone at shutdown
                continue
            if message is None:
                return
            self._handle(message)
