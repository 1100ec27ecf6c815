"""Which engine runs the jobs, as ``AECORE_JOBS`` says:

- unset or ``local`` (the default): worker processes here, every job at once in time slices
  (:class:`~aecore.jobs.sliced_pool.SlicedPool`);
- ``fifo``: worker processes here that run one job at a time each, first come first served;
- ``ray``: the same turns on Ray actors, on a local Ray instance; ``ray://HOST:PORT`` or ``auto``: on a running Ray
  cluster (needs ``pip install ray``); ``ray-fifo``: each run a Ray task to its end, first come first served.

:func:`shared_pool` is the process's one pool, shared by every browser session."""

from __future__ import annotations

import os
import threading

from aecore.jobs.pool import JobPool, LocalPool
from aecore.jobs.ray_pool import RayPool, RaySlicedPool
from aecore.jobs.sliced_pool import SlicedPool

_pool: JobPool | None = None
_pool_lock = threading.Lock()


def pool_from_environment(setting: str | None = None) -> JobPool:
    """The pool ``AECORE_JOBS`` (or ``setting``) asks for: time-sliced local processes by default, else Ray."""
    setting = (os.environ.get("AECORE_JOBS", "") if setting is None else setting).strip()
    if setting in ("", "local"):
        return SlicedPool()
    if setting == "fifo":
        return LocalPool()
    if setting == "ray":
        return RaySlicedPool()
    if setting == "ray-fifo":
        return RayPool()
    return RaySlicedPool(address=setting)


def shared_pool() -> JobPool:
    """This process's pool, made on first use and shared by every browser session."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = pool_from_environment()
        return _pool
