"""Datasets shared by every worker process: prepared once, then memory-mapped read-only."""

import numpy as np
import pytest
import torch

from aecore.config import DataConfig
from aecore.data import load_dataset
from aecore.jobs import shared_data
from aecore.jobs.shared_data import mapped_dataset


@pytest.fixture(autouse=True)
def _cache_in(tmp_path, monkeypatch):
    monkeypatch.setenv("AECORE_DATASET_CACHE", str(tmp_path / "datasets"))


def test_a_dataset_is_prepared_once_and_then_mapped_by_every_caller():
    config = DataConfig(name="digits", normalization="standard")
    loads = []

    def load():
        loads.append(1)
        return load_dataset(config)

    first, second = mapped_dataset(config, load), mapped_dataset(config, load)
    assert len(loads) == 1  # the second caller (another worker) only maps the files
    reference = load_dataset(config)
    for mapped in (first, second):
        for name in ("train", "val", "test"):
            assert torch.equal(getattr(mapped, name).x, getattr(reference, name).x)
            assert torch.equal(getattr(mapped, name).y, getattr(reference, name).y)
        assert torch.equal(mapped.normalizer.mean, reference.normalizer.mean)
        assert (mapped.name, mapped.class_names, mapped.input_shape) == (
            reference.name, reference.class_names, reference.input_shape)
    array = np.load(shared_data.cache_dir().glob("*/train_x.npy").__next__(), mmap_mode="r")
    assert isinstance(array, np.memmap) and not array.flags.writeable  # one read-only copy, shared


def test_another_config_is_another_dataset_and_only_a_few_are_kept(monkeypatch):
    monkeypatch.setattr(shared_data, "KEPT", 2)
    for fraction in (0.5, 0.6, 0.7):
        config = DataConfig(name="digits", fraction=fraction)
        assert len(mapped_dataset(config, lambda config=config: load_dataset(config)).train) == len(
            load_dataset(config).train)
    assert len([path for path in shared_data.cache_dir().iterdir() if not path.name.startswith(".")]) == 2
