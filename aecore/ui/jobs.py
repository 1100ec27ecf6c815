"""Background training jobs for the dashboard: one per browser session, a bounded number per device.

Streamlit reruns a page's script on every click, so training never runs in
the script: a :class:`TrainingJob` runs :func:`aecore.training.fit` in a
thread and keeps what the page needs in a :class:`JobSnapshot` under a lock.
The page polls :meth:`TrainingJob.snapshot` from a fragment; nothing here
calls streamlit, so the thread never touches the UI. A process-wide
:class:`DeviceSlots` bounds concurrent jobs per device: a class of thirty
students queues on two CPU cores instead of thrashing them.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from aecore import checkpoints
from aecore.checkpoints import PRETRAINED_DIR, load_run
from aecore.config import DataConfig, RunConfig
from aecore.data import Dataset
from aecore.errors import AecoreError
from aecore.events import CheckpointSaved, Epoch, Failed, Finished, Preview, Started, Step
from aecore.training import TrainingState, device_description, fit, resolve_device

log = logging.getLogger(__name__)

MAX_STEP_POINTS = 1000  # the per-step loss curve is thinned to at most this many points
RUN_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_SLOTS = {"cpu": 1, "cuda": 2}

# Job states, in the order a run goes through them.
IDLE, QUEUED, LOADING, RUNNING, STOPPING, STOPPED, FINISHED, FAILED = (
    "idle", "queued", "loading", "running", "stopping", "stopped", "finished", "failed")
ACTIVE_STATES = (QUEUED, LOADING, RUNNING, STOPPING)


class JobError(AecoreError):
    """A job action that is not possible now (e.g. a second Start while running)."""


class DeviceSlots:
    """A process-wide limit on concurrent training jobs per device type ("cpu", "cuda")."""

    def __init__(self, limits: dict[str, int] | None = None) -> None:
        self.limits = dict(DEFAULT_SLOTS if limits is None else limits)
        self._in_use: dict[str, int] = {}
        self._condition = threading.Condition()

    def acquire(self, device_type: str, cancel: threading.Event, poll_s: float = 0.2) -> bool:
        """Wait for a free slot; False if ``cancel`` was set while waiting."""
        limit = self.limits.get(device_type, 1)
        with self._condition:
            while self._in_use.get(device_type, 0) >= limit:
                if cancel.is_set():
                    return False
                self._condition.wait(poll_s)
            if cancel.is_set():
                return False
            self._in_use[device_type] = self._in_use.get(device_type, 0) + 1
            return True

    def release(self, device_type: str) -> None:
        with self._condition:
            self._in_use[device_type] = max(0, self._in_use.get(device_type, 0) - 1)
            self._condition.notify_all()

    def in_use(self, device_type: str) -> int:
        with self._condition:
            return self._in_use.get(device_type, 0)


SLOTS = DeviceSlots()  # shared by every session of this server process


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
    """Train one run in a background thread; start, stop, resume, reset and save it from the page."""

    def __init__(self, load_dataset: DatasetLoader, slots: DeviceSlots = SLOTS) -> None:
        self._load_dataset = load_dataset
        self._slots = slots
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state: TrainingState | None = None
        self._dataset: Dataset | None = None
        self._snapshot = JobSnapshot()
        self._step_stride = 1
        self._call_start_step = 0
        self._call_started = time.perf_counter()

    # ------------------------------------------------------------------------------ actions

    def start(self, config: RunConfig) -> None:
        """Train a new model from ``config`` (the previous one, if any, is dropped)."""
        self._ensure_idle("start a new run")
        self._state, self._dataset, self._step_stride = None, None, 1
        self._snapshot = JobSnapshot(status=QUEUED, config=config, epochs=config.train.epochs,
                                     message="Waiting for a free training slot")
        self._launch(config, config.train.epochs)

    def resume(self, more_epochs: int | None = None) -> None:
        """Continue the same model and optimiser: a stopped run up to its target, or ``more_epochs`` more."""
        self._ensure_idle("resume")
        snapshot = self._snapshot
        if self._state is None or snapshot.config is None:
            raise JobError("there is no run to resume: start one or load a saved run first")
        if snapshot.status == STOPPED and snapshot.epoch < snapshot.epochs and more_epochs is None:
            target = snapshot.epochs
        else:
            target = self._state.epoch + (more_epochs or snapshot.config.train.epochs)
        self._snapshot = replace(snapshot, status=QUEUED, message="Waiting for a free training slot",
                                 epochs=target, saved_to=None)
        self._launch(snapshot.config, target)

    def load(self, folder: str | Path) -> None:
        """Continue training a saved run: its weights, optimiser state and history."""
        self._ensure_idle("load a run")
        run = load_run(folder)  # a fresh copy: the page's cached, shared models are never trained
        self._state = TrainingState.from_run(run, "cpu")
        self._dataset = None
        history = tuple(run.history)
        self._snapshot = JobSnapshot(status=STOPPED, config=run.config, epoch=run.epochs, epochs=run.epochs,
                                     history=history, step=self._state.step, source=str(run.path),
                                     class_names=run.class_names,
                                     message=f"Loaded {run.name} ({run.epochs} epochs): Resume trains it further")

    def stop(self) -> None:
        """Ask the thread to stop at its next step (a queued job leaves the queue)."""
        self._stop.set()
        with self._lock:
            if self._snapshot.active:
                self._snapshot = replace(self._snapshot, status=STOPPING, message="Stopping after this step")

    def reset(self) -> None:
        """Stop and forget the run."""
        self.stop()
        self.join(timeout=30)
        with self._lock:
            self._state, self._dataset, self._snapshot = None, None, JobSnapshot()

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def save(self, name: str, root: Path | None = None) -> Path:
        """Save the current model as run ``name`` under ``root`` (default: the user runs folder).

        Refuses while training, a name that is not a plain file name, and a clash with another run.
        """
        self._ensure_idle("save")
        if self._state is None or self._state.epoch == 0:
            raise JobError("there is nothing to save yet: train for at least one epoch")
        name = name.strip()
        if not RUN_NAME_PATTERN.match(name):
            raise JobError("a run name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        if (PRETRAINED_DIR / name).exists():
            raise JobError(f"{name!r} is the name of a shipped run; choose another name")
        folder = Path(root if root is not None else checkpoints.USER_RUNS_DIR) / name
        if folder.exists() and str(folder) != self._snapshot.source:
            raise JobError(f"a run named {name!r} already exists; choose another name")
        normalizer = self._dataset.normalizer if self._dataset is not None else None
        path = self._state.save(folder, normalizer=normalizer, preview=self._snapshot.preview)
        with self._lock:
            self._snapshot = replace(self._snapshot, saved_to=str(path), source=str(path),
                                     message=f"Saved as {name}")
        return path

    def trained(self):
        """(a copy of the model in eval mode, the dataset it trained on) once a run has trained and stopped;
        None while training or before. The copy can be used freely while the job trains on."""
        if self._snapshot.active or self._state is None or self._dataset is None or self._state.step == 0:
            return None
        return copy.deepcopy(self._state.model).eval(), self._dataset

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return self._snapshot

    # ------------------------------------------------------------------------------ the thread

    def _ensure_idle(self, action: str) -> None:
        if self._snapshot.active or (self._thread is not None and self._thread.is_alive()):
            raise JobError(f"cannot {action} while a run is training: stop it first")

    def _launch(self, config: RunConfig, target_epochs: int) -> None:
        self._stop.clear()
        self._call_start_step = self._state.step if self._state is not None else 0
        self._thread = threading.Thread(target=self._run, args=(config, target_epochs), daemon=True,
                                        name="aecore-training-job")
        self._thread.start()

    def _update(self, **changes) -> None:
        with self._lock:
            self._snapshot = replace(self._snapshot, **changes)

    def _run(self, config: RunConfig, target_epochs: int) -> None:
        try:
            device = resolve_device(config.train.device)
        except AecoreError as exc:
            self._update(status=FAILED, message=str(exc))
            return
        in_use = self._slots.in_use(device.type)
        limit = self._slots.limits.get(device.type, 1)
        self._update(message=f"Waiting for a free training slot ({in_use} of {limit} on {device.type.upper()} busy)")
        if not self._slots.acquire(device.type, self._stop):
            self._update(status=STOPPED, message="Stopped while waiting for a slot")
            return
        try:
            self._train(config, device, target_epochs)
        except AecoreError as exc:
            self._update(status=FAILED, message=str(exc))
        except Exception as exc:  # the page must keep working whatever happens in the thread
            log.exception("training job failed")
            self._update(status=FAILED, message=f"training stopped by an unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self._slots.release(device.type)

    def _train(self, config: RunConfig, device: torch.device, target_epochs: int) -> None:
        self._update(status=LOADING, message=f"Loading {config.data.name}", device_name=device_description(device))
        if self._dataset is None or self._dataset.train.x.device != device:
            self._dataset = self._load_dataset(config.data, device)
        if self._state is None:
            self._state = TrainingState.create(config, self._dataset.input_shape, device,
                                               class_names=self._dataset.class_names)
        elif self._state.device != device:
            self._state.model.to(device)
            _move_optimizer_state(self._state.optimizer, device)
        for event in fit(self._state, self._dataset, stop=self._stop, epochs=target_epochs):
            self._apply(event)

    def _apply(self, event) -> None:
        snapshot = self._snapshot
        if isinstance(event, Started):
            self._call_started = time.perf_counter()
            self._update(status=RUNNING, message=f"Training on {event.device_name}", device_name=event.device_name,
                         class_names=self._state.class_names or self._dataset.class_names,
                         epochs=event.epochs, steps_per_epoch=event.steps_per_epoch, batch=0)
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
            self._update(batch=event.batch, step=event.step, seconds=elapsed, step_losses=points,
                         eta_s=elapsed / done * remaining if done else None, **changes)
        elif isinstance(event, Epoch):
            changes = {"epoch": event.epoch, "batch": 0, "history": tuple(self._state.history)}
            if event.preview is not None:
                changes["preview"] = event.preview
            self._update(**changes)
        elif isinstance(event, CheckpointSaved):
            self._update(saved_to=event.path)
        elif isinstance(event, Finished):
            status = STOPPED if event.stopped else FINISHED
            text = (f"Stopped after {event.epoch} epochs" if event.stopped
                    else f"Finished {event.epoch} epochs in {event.seconds:.0f} s")
            self._update(status=status, message=text, eta_s=None)
        elif isinstance(event, Failed):
            self._update(status=FAILED, message=event.message, eta_s=None, epoch=event.epoch,
                         history=tuple(self._state.history))


def _move_optimizer_state(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    for values in optimizer.state.values():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                values[key] = value.to(device)
