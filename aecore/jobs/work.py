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
from collections.abc import Callable
from dataclasses import dataclass

import torch

from aecore.checkpoints import load_run
from aecore.config import DataConfig, RunConfig
from aecore.data import Dataset, load_dataset
from aecore.errors import AecoreError
from aecore.events import Epoch, Event, Failed, Finished, Preview, Step
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
        _datasets[key] = load_dataset(config, device)
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
    """Run ``request`` and report through ``send``; ``stop`` has ``is_set()`` and is checked every step.

    Never raises: any error is sent as :class:`JobFailed` (or fit's own :class:`Failed`).
    """
    send(Claimed(request.job_id, os.getpid()))
    try:
        _train(request, send, stop)
    except AecoreError as exc:
        send(JobFailed(request.job_id, str(exc)))
    except Exception as exc:  # a worker reports every error instead of dying with it
        send(JobFailed(request.job_id, f"training stopped by an unexpected error: {type(exc).__name__}: {exc}"))


def _train(request: TrainRequest, send: Callable[[Message], None], stop) -> None:
    config = request.config
    device = resolve_device(config.train.device)
    dataset = _dataset(config.data, device)
    if request.resume_from is not None:
        state = TrainingState.from_run(load_run(request.resume_from), device)
    else:
        state = TrainingState.create(config, dataset.input_shape, device, class_names=dataset.class_names)
    pending: list[Event] = []
    sent_at = time.monotonic()
    preview: Preview | None = None
    checkpointed_at = time.monotonic()
    for event in fit(state, dataset, stop=stop, epochs=request.target_epochs):
        preview = getattr(event, "preview", None) or preview
        if isinstance(event, Finished | Failed):  # the state is parked before the run's last word
            if pending:
                send(Events(request.job_id, tuple(pending)))
            if state.step > 0:
                state.checkpoint(request.park_in, normalizer=dataset.normalizer, preview=preview)
                send(Parked(request.job_id, request.park_in))
            send(Events(request.job_id, (event,)))
            return
        pending.append(event)
        if isinstance(event, Epoch) and time.monotonic() - checkpointed_at >= CHECKPOINT_EVERY_S:
            # what a killed worker or server restarts from; sent after the epoch's events
            send(Events(request.job_id, tuple(pending)))
            pending = []
            state.checkpoint(request.park_in, normalizer=dataset.normalizer, preview=preview)
            send(Parked(request.job_id, request.park_in))
            checkpointed_at = sent_at = time.monotonic()
            continue
        if not isinstance(event, Step) or time.monotonic() - sent_at >= EVENT_BATCH_S:
            send(Events(request.job_id, tuple(pending)))
            pending, sent_at = [], time.monotonic()
