"""A finished run's costly measures, computed once per checkpoint away from the UI: test MSE and linear-probe accuracy.

The class challenge (:mod:`aecore.challenge`) ranks runs live from what their jobs
already report (the validation loss of each epoch). Two measures need the model
itself: the MSE on the whole test split in pixels (for a run trained with BCE,
or on standardised inputs, whose loss is no pixel MSE), and the accuracy of a
linear probe on its codes (a softmax classifier on frozen codes, lecture 002 (c);
:func:`aecore.probes.linear_probe_accuracy`), which takes seconds.
:class:`RunMeasures` computes them in one spawned worker process, once per run
folder and checkpoint time (the model file's modification time), and keeps the
answers; a page asks on every redraw and gets None ("measuring...") until the
worker has answered. A measurement that fails answers with a note, never an error.
"""

from __future__ import annotations

import logging
import multiprocessing.context
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aecore.checkpoints import MODEL_FILE, load_run
from aecore.config import DataConfig
from aecore.data import Dataset, load_dataset
from aecore.jobs.pool import WORKER_NAME_PREFIX, worker_process_started
from aecore.models import evaluating
from aecore.probes import linear_probe_accuracy

log = logging.getLogger(__name__)

PROBE_TRAIN_IMAGES, PROBE_TEST_IMAGES = 5000, 5000  # codes the probe is fitted and scored on (seeded subsets)
KEPT_MEASURES = 512  # checkpoints whose measures are remembered
KEPT_DATASETS = 2  # datasets a measuring process keeps loaded
BATCH = 1000


_datasets: OrderedDict[DataConfig, Dataset] = OrderedDict()  # in the measuring process: the last datasets used
_datasets_lock = threading.Lock()


@dataclass(frozen=True)
class Measured:
    """A checkpoint's measures: the mean squared error of its reconstructions of the whole test split, on pixels in
    [0, 1], and the test accuracy of a linear probe on its codes; None where it could not be measured (``note``
    says why)."""

    test_mse: float | None
    probe_accuracy: float | None
    note: str = ""


def measure_run(folder: str | Path, *, probe_train: int = PROBE_TRAIN_IMAGES, probe_test: int = PROBE_TEST_IMAGES,
                seed: int = 0) -> Measured:
    """Measure the run saved in ``folder`` on its own dataset (see :class:`Measured`). Never raises."""
    try:
        run = load_run(folder)
        data = _dataset(run.config.data)
        model, test = run.model, data.test
        pixels = data.normalizer.inverse(test.x)
        low, high = float(pixels.min()), float(pixels.max())
        if low < 0.0 or high > 1.0:  # PSNR = 10 log10(1 / MSE) assumes a peak of 1
            return Measured(None, None, f"its test pixels span [{low:g}, {high:g}], not [0, 1]")
        squared = 0.0
        with evaluating(model), torch.inference_mode():
            for start in range(0, len(test), BATCH):
                x = test.x[start:start + BATCH]
                recon = data.normalizer.inverse(model.reconstruct(x))
                squared += float((recon - data.normalizer.inverse(x)).square().sum())
        mse = squared / max(1, pixels.numel())
        return Measured(mse, *_probe(model, data.train, test, probe_train, probe_test, seed))
    except Exception as exc:  # noqa: BLE001 - any failure becomes a note on the board, never a page's error
        return Measured(None, None, f"could not be measured ({exc})")


def _dataset(config: DataConfig) -> Dataset:
    """The dataset of a run, kept for the next measurement (the worker measures a class's runs on one or two)."""
    with _datasets_lock:
        if config in _datasets:
            _datasets.move_to_end(config)
            return _datasets[config]
    dataset = load_dataset(config, "cpu")
    with _datasets_lock:
        _datasets[config] = dataset
        while len(_datasets) > KEPT_DATASETS:
            _datasets.popitem(last=False)
    return dataset


def _probe(model, train, test, train_count: int, test_count: int, seed: int) -> tuple[float | None, str]:
    train_labels, test_labels = train.y.numpy(), test.y.numpy()
    if len(np.unique(train_labels)) < 2 or len(test) == 0:
        return None, "its dataset has one class: no probe"
    generator = np.random.default_rng(seed)
    pick_train = np.sort(generator.permutation(len(train))[:train_count])
    pick_test = np.sort(generator.permutation(len(test))[:test_count])
    with evaluating(model), torch.inference_mode():
        codes = [torch.cat([model.encode(split.x[torch.as_tensor(pick[i:i + BATCH])])
                            for i in range(0, len(pick), BATCH)]).float().numpy()
                 for split, pick in ((train, pick_train), (test, pick_test))]
    return linear_probe_accuracy(codes[0], train_labels[pick_train], codes[1], test_labels[pick_test], seed), ""


class _MeasureProcess(multiprocessing.context.SpawnProcess):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.name = WORKER_NAME_PREFIX + "measures-" + self.name  # never runs the page script again (see pool.py)


class _MeasureContext(multiprocessing.context.SpawnContext):
    Process = _MeasureProcess


def _init_measure_worker() -> None:
    torch.set_num_threads(1)
    worker_process_started()


def process_executor() -> Executor:
    """One spawned worker process, one thread, for measurements (it ends with the server)."""
    return ProcessPoolExecutor(max_workers=1, mp_context=_MeasureContext(), initializer=_init_measure_worker)


class RunMeasures:
    """Measures of run checkpoints, each computed once in the background (see the module); thread-safe."""

    def __init__(self, executor_factory: Callable[[], Executor] = process_executor,
                 measure: Callable[[str], Measured] = measure_run) -> None:
        self._make_executor, self._measure = executor_factory, measure
        self._executor: Executor | None = None
        self._done: OrderedDict[tuple[str, int], Measured] = OrderedDict()
        self._running: dict[tuple[str, int], Future] = {}
        self._lock = threading.Lock()

    def get(self, folder: str | Path) -> Measured | None:
        """The measures of the checkpoint in ``folder`` now; None while they are being measured (asked for the
        first time, the measurement starts)."""
        try:
            key = (str(folder), (Path(folder) / MODEL_FILE).stat().st_mtime_ns)
        except OSError:
            return Measured(None, None, "its checkpoint is gone")
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            if key in self._running:
                return None
            if self._executor is None:
                self._executor = self._make_executor()
            future = self._running[key] = self._executor.submit(self._measure, str(folder))
        future.add_done_callback(lambda done, key=key: self._finished(key, done))  # at once if done: lock released
        return None

    def _finished(self, key: tuple[str, int], future: Future) -> None:
        broken = False
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - a dead worker: the answer says so, the next checkpoint retries
            log.warning("a run's measurement failed: %s", exc)
            result, broken = Measured(None, None, "could not be measured (the worker stopped)"), True
        with self._lock:
            self._running.pop(key, None)
            self._done[key] = result
            while len(self._done) > KEPT_MEASURES:
                self._done.popitem(last=False)
            if broken:
                self._executor = None  # a broken pool is replaced on the next request

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


_shared: RunMeasures | None = None
_shared_lock = threading.Lock()


def shared_measures() -> RunMeasures:
    """The process's measurements, shared by every session's board."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RunMeasures()
        return _shared
