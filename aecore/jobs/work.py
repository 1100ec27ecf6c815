"""What a training job does inside its worker process, and the messages it sends back.

A job is a :class:`TrainRequest`: train this config (or continue this run
folder) up to this many epochs, and park the result in this folder. The worker
runs :func:`aecore.training.fit` and sends back, in order: :class:`Claimed` when
it starts, :class:`Events` (fit's events, a batch at a time), :class:`Parked`
each time the weights, optimiser state, history and position are saved (at
an epoch's end, at most every CHECKPOINT_EVERY_S, and when the call ends), and
the run's final event last. A request never shares a model with anything: the folder it parks
in is the only thing the server and the next request read.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from aecore.checkpoints import load_run
from aecore.config import DataConfig, RunConfig
from aecore.data import Dataset, load_dataset
from aecore.errors import AecoreError
from aecore.events import Epoch, Event, Failed, Finished, Preview, Step
from aecore.jobs.shared_data import mapped_dataset
from aecore.training import TrainingState, fit, resolve_device

EVENT_BATCH_S = 0.1  # steps are sent in batches at most this far apart: a GPU makes thousands a second
WORKER_DATASETS = 2  # datasets a worker keeps loaded for the next job
CHECKPOINT_EVERY_S = 2.0  # an epoch's end saves the state unless the last save is more recent (toy runs: 5,000 epochs)


@dataclass(frozen=True)
class TrainRequest:
    """One call of fit() in a worker: ``config`` from scratch, or the run in ``resume_from`` continued."""

    job_id: str
    config: RunConfig
    target_epochs: int
    park_in: str  # the folder the state is saved to when the call ends
    resume_from: str | None = None  # a run folder to continue (a parked state or a saved run)
    priority: int = 0  # the teacher's jobs (1) go before the class's (0) where slices are shared


@dataclass(frozen=True)
class Claimed:
    """A worker took the request off the queue."""

    job_id: str
    worker_pid: int


@dataclass(frozen=True)
class Events:
    """fit()'s events, in order."""

    job_id: str
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Parked:
    """The state after this call is saved in ``folder`` (weights, optimiser state, history, preview)."""

    job_id: str
    folder: str


@dataclass(frozen=True)
class JobFailed:
    """The request could not run: bad data, a worker error, or a worker that died."""

    job_id: str
    message: str


@dataclass(frozen=True)
class Dropped:
    """The request was stopped before a worker took it."""

    job_id: str


Message = Claimed | Events | Parked | JobFailed | Dropped

_datasets: OrderedDict[tuple[DataConfig, str], Dataset] = OrderedDict()


def _dataset(config: DataConfig, device: torch.device) -> Dataset:
    """The dataset on ``device``, kept for the next job of this worker (the last WORKER_DATASETS used)."""
    key = (config, str(device))
    if key not in _datasets:
        load = lambda: load_dataset(config, device)  # noqa: E731
        _datasets[key] = mapped_dataset(config, load) if device.type == "cpu" else load()  # one copy for all workers
        while len(_datasets) > WORKER_DATASETS:
            _datasets.popitem(last=False)
    _datasets.move_to_end(key)
    return _datasets[key]


def warm_up(config: DataConfig | None = None) -> int:
    """Import torch's optimisers and load ``config``'s data into this worker ahead of the first job."""
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # the first optimiser imports torch._dynamo
    if config is not None:
        _dataset(config, torch.device("cpu"))
    return os.getpid()


def run_training(request: TrainRequest, send: Callable[[Message], None], stop) -> None:
    """Run ``request`` to its end and report through ``send``; ``stop`` has ``is_set()`` and is checked every step.

    Never raises: any error is sent as :class:`JobFailed` (or fit's own :class:`Failed`).
    """
    TrainingCall(request, send, stop).advance(None)


class TrainingCall:
    """One request's call of fit() in a worker, run to its end at once (:func:`run_training`) or a time slice at a
    time (:class:`aecore.jobs.sliced_pool.SlicedPool`): between slices the call keeps its model, optimiser, data
    position and torch's random state, so a sliced run gives the same losses as one run at once."""

    def __init__(self, request: TrainRequest, send: Callable[[Message], None], stop) -> None:
        self.request, self.send, self.stop = request, send, stop
        self.ended = False
        self._events: Iterator[Event] | None = None
        self._rng_state: torch.Tensor | None = None  # torch's generator, this call's own between slices
        self._state: TrainingState | None = None
        self._dataset: Dataset | None = None
        self._preview: Preview | None = None
        self._checkpointed_at = 0.0

    def advance(self, seconds: float | None) -> bool:
        """Train for about ``seconds`` (None: to the end), stopping at a batch boundary; True once the call has
        ended (its last message sent). Never raises: any error is sent as :class:`JobFailed`."""
        if self.ended:
            return True
        try:
            if self._events is None:
                self.send(Claimed(self.request.job_id, os.getpid()))
                self._begin()
            elif self._rng_state is not None:
                torch.set_rng_state(self._rng_state)
            self._run(seconds)
            self._rng_state = torch.get_rng_state()
        except AecoreError as exc:
            self._fail(str(exc))
        except Exception as exc:  # a worker reports every error instead of dying with it
            self._fail(f"training stopped by an unexpected error: {type(exc).__name__}: {exc}")
        return self.ended

    def _fail(self, message: str) -> None:
        self.ended = True
        self.send(JobFailed(self.request.job_id, message))

    def _begin(self) -> None:
        request = self.request
        config = request.config
        device = resolve_device(config.train.device)
        dataset = self._dataset = _dataset(config.data, device)
        if request.resume_from is not None:
            self._state = TrainingState.from_run(load_run(request.resume_from), device)
        else:
            self._state = TrainingState.create(config, dataset.input_shape, device, class_names=dataset.class_names)
        self._checkpointed_at = time.monotonic()
        self._events = fit(self._state, dataset, stop=self.stop, epochs=request.target_epochs)

    def _run(self, seconds: float | None) -> None:
        job_id, state, dataset = self.request.job_id, self._state, self._dataset
        pending: list[Event] = []
        started = sent_at = time.monotonic()
        for event in self._events:
            self._preview = getattr(event, "preview", None) or self._preview
            if isinstance(event, Finished | Failed):  # the state is parked before the run's last word
                if pending:
                    self.send(Events(job_id, tuple(pending)))
                if state.step > 0:
                    state.checkpoint(self.request.park_in, normalizer=dataset.normalizer, preview=self._preview)
                    self.send(Parked(job_id, self.request.park_in))
                self.ended = True
                self.send(Events(job_id, (event,)))
                return
            pending.append(event)
            now = time.monotonic()
            if isinstance(event, Epoch) and now - self._checkpointed_at >= CHECKPOINT_EVERY_S:
                # what a killed worker or server restarts from; sent after the epoch's events
                self.send(Events(job_id, tuple(pending)))
                pending = []
                state.checkpoint(self.request.park_in, normalizer=dataset.normalizer, preview=self._preview)
                self.send(Parked(job_id, self.request.park_in))
                self._checkpointed_at = sent_at = time.monotonic()
            elif not isinstance(event, Step) or now - sent_at >= EVENT_BATCH_S:
                self.send(Events(job_id, tuple(pending)))
                pending, sent_at = [], now
            if seconds is not None and isinstance(event, Step) and now - started >= seconds:
                break  # the slice is over, at a batch boundary: the generator waits for the next one
        if pending:
            self.send(Events(job_id, tuple(pending)))
        state.model.zero_grad(set_to_none=True)  # a waiting run keeps no gradients: the next step makes its own
