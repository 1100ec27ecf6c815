"""The process-wide dataset cache the pages, training jobs and warm-up threads share."""

import threading
import time

import pytest

from aecore.config import DataConfig
from aecore.ui import shared_resources


@pytest.fixture
def counted_loads(monkeypatch):
    """Fresh cache; load_dataset records each load and takes a while, as a real one does."""
    monkeypatch.setattr(shared_resources, "_datasets", shared_resources.OrderedDict())
    monkeypatch.setattr(shared_resources, "_loading", {})
    loads, real = [], shared_resources.load_dataset

    def slow_load(config, device):
        loads.append(config)
        time.sleep(0.3)
        return real(config, device)

    monkeypatch.setattr(shared_resources, "load_dataset", slow_load)
    return loads


def _in_threads(*configs):
    results, threads = {}, []
    for number, config in enumerate(configs):
        thread = threading.Thread(
            target=lambda n=number, c=config: results.__setitem__(n, shared_resources.shared_dataset(c)))
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join(60)
    return [results[n] for n in range(len(configs))]


def test_callers_asking_at_once_share_one_load(counted_loads):
    config = DataConfig(name="digits")
    first, second, third = _in_threads(config, config, config)
    assert counted_loads == [config]
    assert first is second is third
    assert shared_resources.shared_dataset(config) is first  # and later callers get it from the cache


def test_a_load_does_not_hold_up_callers_of_other_data(monkeypatch):
    monkeypatch.setattr(shared_resources, "_datasets", shared_resources.OrderedDict())
    monkeypatch.setattr(shared_resources, "_loading", {})
    digits_loading, patterns_loaded, real = threading.Event(), threading.Event(), shared_resources.load_dataset
    waited = {}

    def load(config, device):
        if config.name == "digits":  # still loading when the other caller asks: it must not wait for this
            digits_loading.set()
            waited["digits"] = patterns_loaded.wait(timeout=20)
        dataset = real(config, device)
        if config.name == "patterns-3x3":
            patterns_loaded.set()
        return dataset

    monkeypatch.setattr(shared_resources, "load_dataset", load)
    results = {}
    digits = threading.Thread(target=lambda: results.__setitem__("digits", shared_resources.shared_dataset(
        DataConfig(name="digits"))))
    digits.start()
    assert digits_loading.wait(timeout=20)
    results["patterns"] = shared_resources.shared_dataset(DataConfig(name="patterns-3x3"))
    digits.join(30)
    assert waited == {"digits": True}
    assert results["digits"].name == "digits" and results["patterns"].name == "patterns-3x3"


def test_only_the_most_recently_used_datasets_are_kept(counted_loads, monkeypatch):
    monkeypatch.setattr(shared_resources, "MAX_SHARED_DATASETS", 2)
    configs = [DataConfig(name="digits", seed=seed) for seed in range(3)]
    for config in configs:
        shared_resources.shared_dataset(config)
    shared_resources.shared_dataset(configs[0])  # evicted by the third: loaded again
    assert counted_loads == [configs[0], configs[1], configs[2], configs[0]]
    assert shared_resources.dataset_is_loaded(configs[0]) and shared_resources.dataset_is_loaded(configs[2])
    assert not shared_resources.dataset_is_loaded(configs[1])  # evicted by the fourth call
