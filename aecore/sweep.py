"""Sweeps: a grid of runs over one or two settings, trained as jobs and saved, with optional early stopping.

A :class:`SweepSpec` is a preset, one or two settings of the settings table
each with a list of values, and an epoch count; :meth:`SweepSpec.parse` reads
it from text (``latent="2,8,32"``) and refuses bad values with one line. A
:class:`Sweep` trains every combination as a job of a
:class:`~aecore.jobs.JobPool` (as many at once as its slots allow, queued with
everyone else's jobs), follows each run's losses and reconstructions live, and
saves each finished run under a name made of its settings. With
``early_stopping``, Optuna's successive-halving pruner stops runs whose
validation loss is hopeless at an epoch where others did better.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import optuna

from aecore import checkpoints
from aecore.config import RunConfig
from aecore.errors import ConfigError
from aecore.events import Epoch, Failed, Finished, Preview, Started, Step
from aecore.jobs import Claimed, Dropped, Events, JobFailed, JobPool, Message, Parked, TrainRequest
from aecore.jobs.ray_pool import RayPool, RayStopFlag, StopBoard
from aecore.jobs.work import run_training
from aecore.presets import preset_config
from aecore.settings import get_setting

MAX_AXES = 2
MAX_RUNS = 64
EARLY_STOPPING_MIN_RUNS = 6  # below this, every run trains to the end unless asked otherwise

# A run's states.
WAITING, TRAINING, DONE, PRUNED, STOPPED, FAILED = "waiting", "training", "done", "pruned", "stopped", "failed"


@dataclass(frozen=True)
class SweepSpec:
    """A grid: ``preset`` with each combination of ``axes`` (setting name -> values), for ``epochs`` each."""

    preset: str
    axes: tuple[tuple[str, tuple], ...]
    epochs: int
    base: tuple[tuple[str, object], ...] = ()  # other settings every run gets (e.g. the dataset)

    @classmethod
    def parse(cls, preset: str, axes: dict[str, str], epochs: int, **base) -> SweepSpec:
        """A spec from text: ``axes={"latent": "2,8,32", "noise": "0,0.3"}``; a one-line ConfigError if bad."""
        axes = {name: text for name, text in axes.items() if text is not None and str(text).strip()}
        if not 1 <= len(axes) <= MAX_AXES:
            raise ConfigError(f"a sweep varies one or two settings; got {len(axes)}")
        parsed = []
        for name, text in axes.items():
            setting = get_setting(name)
            values = tuple(dict.fromkeys(setting.parse(part) for part in _split(setting.kind, str(text))))
            if not values:
                raise ConfigError(f"{name}: give at least one value")
            parsed.append((name, values))
        spec = cls(preset, tuple(parsed), int(epochs), tuple(sorted((k, v) for k, v in base.items() if v is not None)))
        if len(spec.combinations()) > MAX_RUNS:
            raise ConfigError(f"a sweep has at most {MAX_RUNS} runs; this one has {len(spec.combinations())}")
        for combination in spec.combinations():
            spec.config_of(combination)  # every run must make a valid config: refuse "latent 0" now
        return spec

    def combinations(self) -> list[dict]:
        """Every combination of the axes' values, first axis slowest."""
        names = [name for name, _ in self.axes]
        return [dict(zip(names, values, strict=True)) for values in itertools.product(*(v for _, v in self.axes))]

    def config_of(self, combination: dict) -> RunConfig:
        """The run config of one combination."""
        return preset_config(self.preset, **dict(self.base), **combination, epochs=self.epochs)

    def run_name(self, combination: dict) -> str:
        """``sweep-ae-latent2-noise0.3``: a run folder name made of the settings."""
        parts = [f"{name.replace('_', '-')}{get_setting(name).format(value).replace(',', '+')}"
                 for name, value in combination.items()]
        return "-".join(["sweep", self.preset, *parts])


# Seconds per epoch per 10,000 training images on the project's 2 CPU cores (bench/README.md: epoch_s of
# ae and conv-ae on MNIST's 54,000), and the training images of the built-in datasets.
SECONDS_PER_10K_IMAGES = {"mlp": 0.7, "conv": 1.9}
TRAINING_IMAGES = {"mnist": 54_000, "fashion-mnist": 54_000, "digits": 1_300}
OTHER_DATASET_IMAGES = 5_000


def estimated_seconds(spec: SweepSpec, slots: int = 1) -> float:
    """A rough time for the whole sweep with ``slots`` runs at once, on CPUs like this project's."""
    total = 0.0
    for combination in spec.combinations():
        config = spec.config_of(combination)
        images = TRAINING_IMAGES.get(config.data.name, OTHER_DATASET_IMAGES) * config.data.fraction
        if config.data.classes:
            images *= len(config.data.classes) / 10
        total += config.train.epochs * images / 10_000 * SECONDS_PER_10K_IMAGES.get(config.model.arch, 2.0)
    return total / max(1, slots)


def _split(kind: type, text: str) -> list[str]:
    separator = ";" if kind is tuple else ","  # class subsets are themselves comma lists: 1,5,6;0,1
    return [part for part in text.split(separator) if part.strip()]


@dataclass
class RunResult:
    """One combination's progress and outcome."""

    combination: dict
    name: str
    status: str = WAITING
    message: str = ""
    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    step_losses: list[tuple[float, float]] = field(default_factory=list)  # (fractional epoch, total)
    preview: Preview | None = None
    saved_to: str | None = None
    seconds: float = 0.0

    @property
    def val_loss(self) -> float | None:
        """The last epoch's validation loss (training loss if there is no validation split)."""
        if not self.history:
            return None
        last = self.history[-1]
        return (last["val"] or last["train"]).get("total")


class Sweep:
    """Train every combination of ``spec`` in ``pool`` and save each finished run under ``runs_dir``.

    :meth:`results` is safe to read from any thread while it runs; :meth:`wait` blocks until every
    run has ended. ``early_stopping`` None turns it on for grids of EARLY_STOPPING_MIN_RUNS or more.
    """

    def __init__(self, spec: SweepSpec, pool: JobPool, runs_dir: Path | None = None, *,
                 early_stopping: bool | None = None, scratch: Path | None = None) -> None:
        self.spec = spec
        self.runs_dir = Path(runs_dir if runs_dir is not None else checkpoints.USER_RUNS_DIR)
        combinations = spec.combinations()
        self.early_stopping = len(combinations) >= EARLY_STOPPING_MIN_RUNS if early_stopping is None \
            else early_stopping
        self._pool = pool
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._scratch = Path(scratch or tempfile.mkdtemp(prefix="aecore-sweep-", dir=os.environ.get("AECORE_JOBS_DIR")))
        self._steps_per_epoch: dict[int, int] = {}
        self._results = [RunResult(c, spec.run_name(c)) for c in combinations]
        self._job_ids = [uuid.uuid4().hex for _ in combinations]
        self._parked: dict[int, str] = {}
        self._started_at: dict[int, float] = {}
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1)
        self._study = optuna.create_study(direction="minimize", pruner=pruner)
        self._trials: dict[int, optuna.trial.Trial] = {}

    def start(self) -> None:
        """Queue every run (in grid order)."""
        for index, result in enumerate(self._results):
            config = self.spec.config_of(result.combination)
            park = self._scratch / self._job_ids[index]
            if self.early_stopping:
                self._trials[index] = self._study.ask()
            request = TrainRequest(self._job_ids[index], config, config.train.epochs, park_in=str(park))
            self._pool.submit(request, lambda message, i=index: self._on_message(i, message))

    def stop(self) -> None:
        """Stop every run; finished runs stay saved."""
        for job_id in self._job_ids:
            self._pool.stop(job_id)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every run has ended; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done.wait(0.1):
            if deadline is not None and time.monotonic() > deadline:
                return False
        return True

    def results(self) -> list[RunResult]:
        """A copy of every run's result, in grid order."""
        with self._lock:
            return [RunResult(**{**vars(r), "history": list(r.history), "step_losses": list(r.step_losses)})
                    for r in self._results]

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    # ------------------------------------------------------------------------------ messages

    def _on_message(self, index: int, message: Message) -> None:
        with self._lock:
            result = self._results[index]
            if isinstance(message, Claimed):
                result.status, self._started_at[index] = TRAINING, time.monotonic()
            elif isinstance(message, Parked):
                self._parked[index] = message.folder
            elif isinstance(message, JobFailed):
                result.status, result.message = FAILED, message.message
            elif isinstance(message, Dropped):
                result.status, result.message = STOPPED, "stopped before it started"
            elif isinstance(message, Events):
                for event in message.events:
                    self._apply(index, result, event)
            if result.status in (DONE, PRUNED, STOPPED, FAILED):
                result.seconds = time.monotonic() - self._started_at.get(index, time.monotonic())
            if all(r.status in (DONE, PRUNED, STOPPED, FAILED) for r in self._results):
                self._done.set()

    def _apply(self, index: int, result: RunResult, event) -> None:
        if isinstance(event, Started):
            self._steps_per_epoch[index] = event.steps_per_epoch
        elif isinstance(event, Step):
            per_epoch = self._steps_per_epoch.get(index, 1)
            result.step_losses.append((event.epoch - 1 + event.batch / per_epoch, event.losses["total"]))
            result.step_losses = result.step_losses[-500:]
            if event.preview is not None:
                result.preview = event.preview
        elif isinstance(event, Epoch):
            result.epoch = event.epoch
            result.history.append({"epoch": event.epoch, "step": event.step, "train": event.train,
                                   "val": event.val})
            result.preview = event.preview or result.preview
            self._maybe_prune(index, result)
        elif isinstance(event, Finished):
            if result.status != PRUNED:
                result.status = STOPPED if event.stopped else DONE
            self._save(index, result)
            self._tell(index, result)
        elif isinstance(event, Failed):
            result.status, result.message = FAILED, event.message
            self._tell(index, result)

    def _maybe_prune(self, index: int, result: RunResult) -> None:
        trial = self._trials.get(index)
        if trial is None or result.val_loss is None:
            return
        trial.report(result.val_loss, result.epoch)
        if result.epoch < self.spec.epochs and trial.should_prune():
            result.status = PRUNED
            result.message = (f"stopped early at epoch {result.epoch}: validation loss {result.val_loss:.4g} "
                              f"trails the other runs at that epoch (successive halving)")
            self._pool.stop(self._job_ids[index])

    def _tell(self, index: int, result: RunResult) -> None:
        trial = self._trials.pop(index, None)
        if trial is None:
            return
        if result.status == DONE and result.val_loss is not None:
            self._study.tell(trial, result.val_loss)
        else:
            state = optuna.trial.TrialState.PRUNED if result.status == PRUNED else optuna.trial.TrialState.FAIL
            self._study.tell(trial, state=state)

    def _save(self, index: int, result: RunResult) -> None:
        parked = self._parked.get(index)
        if parked is None or not result.epoch:
            return
        target, copy = self.runs_dir / result.name, 1
        while target.exists():  # an earlier sweep's run of the same settings stays
            copy += 1
            target = self.runs_dir / f"{result.name}-{copy}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(parked, target)
        shutil.rmtree(parked, ignore_errors=True)
        result.saved_to = str(target)


def results_table(results: list[RunResult]) -> list[dict]:
    """One row per run: its settings, status, epochs, losses and where it was saved."""
    rows = []
    for result in results:
        last = result.history[-1] if result.history else {"train": {}, "val": {}}
        rows.append({**result.combination, "status": result.status, "epochs": result.epoch,
                     "train_loss": last["train"].get("total"), "val_loss": result.val_loss,
                     "seconds": round(result.seconds, 1), "run": result.saved_to or "", "note": result.message})
    return rows


class TuneSweep(Sweep):
    """The same sweep as a Ray Tune experiment: one trial per combination on the cluster's CPUs or GPUs,
    ASHA (Ray Tune's scheduler) for early stopping. Results, saving and :meth:`results` are as for
    :class:`Sweep`; each trial sends the same messages through a Ray queue."""

    def __init__(self, spec: SweepSpec, runs_dir: Path | None = None, *, early_stopping: bool | None = None,
                 scratch: Path | None = None, max_concurrent: int = 0) -> None:
        super().__init__(spec, pool=None, runs_dir=runs_dir, early_stopping=early_stopping, scratch=scratch)
        self._max_concurrent = max_concurrent
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the Tune experiment in a background thread."""
        import ray
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
        from ray.util.queue import Queue

        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False)
        queue, self._board = Queue(), ray.remote(StopBoard).remote()
        requests = [TrainRequest(job_id, self.spec.config_of(r.combination), self.spec.epochs,
                                 park_in=str(self._scratch / job_id))
                    for job_id, r in zip(self._job_ids, self._results, strict=True)]
        gpu = 0.5 if ray.cluster_resources().get("GPU", 0) else 0
        trainable = tune.with_resources(_tune_trainable(requests, queue, self._board), {"cpu": 1, "gpu": gpu})
        scheduler = (ASHAScheduler(metric="val_loss", mode="min", max_t=self.spec.epochs, grace_period=1)
                     if self.early_stopping else FIFOScheduler())
        tuner = tune.Tuner(
            trainable, param_space={"index": tune.grid_search(list(range(len(requests))))},
            tune_config=tune.TuneConfig(scheduler=scheduler, max_concurrent_trials=self._max_concurrent or None),
            run_config=tune.RunConfig(storage_path=str(self._scratch / "tune"), name="sweep", verbose=0))

        def run() -> None:
            try:
                tuner.fit()
            finally:
                self._mark_early_stopped()

        threading.Thread(target=self._collect, args=(queue,), name="aecore-tune-messages", daemon=True).start()
        self._thread = threading.Thread(target=run, name="aecore-tune-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop every trial; finished runs stay saved."""
        for job_id in self._job_ids:
            self._board.stop.remote(job_id)

    def _collect(self, queue) -> None:
        index_of = {job_id: i for i, job_id in enumerate(self._job_ids)}
        while not self._done.is_set():
            try:
                message = queue.get(block=True, timeout=0.5)
            except Exception:  # ray.util.queue.Empty
                continue
            self._on_message(index_of[message.job_id], message)

    def _mark_early_stopped(self) -> None:
        time.sleep(1.0)  # the trials' last messages are still on their way
        with self._lock:
            for result in self._results:
                if result.status in (WAITING, TRAINING):
                    result.status = PRUNED if self.early_stopping else STOPPED
                    result.message = (f"stopped early at epoch {result.epoch} by ASHA: its validation loss trailed "
                                      f"the other runs'" if self.early_stopping else "stopped")
            self._done.set()


def _tune_trainable(requests: list[TrainRequest], queue, board):
    """A Tune function trainable running request ``config["index"]``, reporting each epoch's validation loss."""
    def trainable(config: dict) -> None:
        from ray import tune

        request = requests[config["index"]]

        def send(message) -> None:
            queue.put(message)
            for event in getattr(message, "events", ()):
                if isinstance(event, Epoch):
                    tune.report({"val_loss": (event.val or event.train)["total"], "epoch": event.epoch})

        run_training(request, send, RayStopFlag(board, request.job_id))

    return trainable


def sweep_in(pool: JobPool, spec: SweepSpec, runs_dir: Path | None = None, *,
             early_stopping: bool | None = None) -> Sweep:
    """The sweep for where jobs run: a Ray Tune experiment when ``pool`` is on Ray, else jobs of ``pool``."""
    if isinstance(pool, RayPool):
        return TuneSweep(spec, runs_dir, early_stopping=early_stopping)
    return Sweep(spec, pool, runs_dir, early_stopping=early_stopping)
