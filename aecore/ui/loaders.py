"""Cached loaders shared by the pages: datasets for training, runs for display, the session's job."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import streamlit as st
import torch

from aecore.checkpoints import LoadedRun, list_runs, load_run
from aecore.config import DataConfig
from aecore.data import Dataset, Split, load_dataset, load_test_pixels
from aecore.ui.jobs import TrainingJob

MAX_SHARED_DATASETS = 4
_datasets: OrderedDict[tuple[DataConfig, torch.device], Dataset] = OrderedDict()  # most recently used last
_loading: dict[tuple[DataConfig, torch.device], threading.Lock] = {}
_datasets_lock = threading.Lock()  # guards the two dicts above, never held while loading


def shared_dataset(config: DataConfig, device: torch.device | str = "cpu") -> Dataset:
    """A dataset on ``device``, shared read-only by every session's pages and training jobs.

    A plain process-wide cache of the MAX_SHARED_DATASETS most recently used,
    rather than st.cache_resource: jobs and the start-up warm-up call it from
    their own threads, where Streamlit's caches have no script context. Two
    callers asking for the same data at once wait for one load; a load never
    holds up callers of other data.
    """
    key = (config, torch.device(device))
    with _datasets_lock:
        if key in _datasets:
            _datasets.move_to_end(key)
            return _datasets[key]
        key_lock = _loading.setdefault(key, threading.Lock())
    with key_lock:
        with _datasets_lock:
            if key in _datasets:  # loaded by the caller we waited for
                return _datasets[key]
        dataset = load_dataset(config, key[1])
        with _datasets_lock:
            _datasets[key] = dataset
            while len(_datasets) > MAX_SHARED_DATASETS:
                _datasets.popitem(last=False)
            _loading.pop(key, None)
        return dataset


@st.cache_resource(max_entries=16, show_spinner="Loading the model…")
def _cached_run(path: str, modified: float) -> LoadedRun:
    return load_run(path)


def display_run(path: str | Path) -> LoadedRun:
    """A saved run for display, shared by all sessions: eval mode, never trained (keyed by path and mtime)."""
    path = Path(path)
    return _cached_run(str(path), (path / "model.safetensors").stat().st_mtime)


@st.cache_resource(max_entries=4, show_spinner="Loading the test images…")
def display_test_pixels(config: DataConfig) -> Split:
    """A run's test images as pixels in [0, 1], without loading its whole dataset (shared: read-only)."""
    return load_test_pixels(config)


def display_dataset(config: DataConfig) -> Dataset:
    """A run's dataset on the CPU for display (the same object CPU training uses)."""
    with st.spinner("Loading the images…"):
        return shared_dataset(config)


def _release_job(job: TrainingJob) -> None:
    job.stop()


@st.cache_resource(scope="session", on_release=_release_job)
def session_job() -> TrainingJob:
    """This browser session's training job; stopped when the session ends (the tab closed and expired)."""
    return TrainingJob(shared_dataset)


def _remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


@st.cache_resource(scope="session", on_release=_remove_folder)
def session_upload_folder() -> Path:
    """A private folder for this browser session's uploads, deleted when the session ends."""
    return Path(tempfile.mkdtemp(prefix="aecore-upload-"))


def available_runs() -> list[Path]:
    """Shipped and saved runs, shipped first."""
    return list_runs()
