"""Shared resources: one copy of each dataset for the whole process, and the job service that keeps every
browser's runs and uploads. Runs for display live in :mod:`aecore.ui.cache`."""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch

from aecore.config import DataConfig
from aecore.data import Dataset, load_dataset
from aecore.jobs.service import JobService, shared_service

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


def dataset_is_loaded(config: DataConfig, device: torch.device | str = "cpu") -> bool:
    """Whether :func:`shared_dataset` has this dataset at hand (a call returns at once)."""
    with _datasets_lock:
        return (config, torch.device(device)) in _datasets


def job_service() -> JobService:
    """The process's job service: every browser's run and uploads (see :mod:`aecore.jobs.service`)."""
    return shared_service(shared_dataset)
