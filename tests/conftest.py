"""Shared test set-up."""

import pytest
import torch

from aecore.config import DataConfig
from aecore.jobs import LocalPool


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Two cores run many tiny models: one intra-op thread each is faster than two fighting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits_pool():
    """One training worker process with the digits loaded, as on a 2-core class server: jobs queue for it."""
    pool = LocalPool({"cpu": 1})
    pool.warm_up(DataConfig(name="digits")).result(timeout=120)
    yield pool
    pool.shutdown()
