"""Training away from the UI process: worker processes on this machine, or Ray tasks on a cluster.

The dashboard asks :func:`shared_pool` for the process-wide :class:`JobPool`
and submits :class:`TrainRequest` s to it; messages come back to a listener.
``AECORE_JOBS`` chooses the engine: unset or ``local`` (the default) for worker
processes here; ``ray`` for a local Ray instance; ``ray://HOST:PORT`` or
``auto`` for a running Ray cluster (needs ``pip install ray``).
"""

from __future__ import annotations

import os
import threading

from aecore.jobs.pool import JobPool, LocalPool, QueueInfo, default_slots
from aecore.jobs.ray_pool import RayPool
from aecore.jobs.work import Claimed, Dropped, Events, JobFailed, Message, Parked, TrainRequest

__all__ = ["Claimed", "Dropped", "Events", "JobFailed", "JobPool", "LocalPool", "Message", "Parked", "QueueInfo",
           "RayPool", "TrainRequest", "default_slots", "pool_from_environment", "shared_pool"]

_pool: JobPool | None = None
_pool_lock = threading.Lock()


def pool_from_environment(setting: str | None = None) -> JobPool:
    """The pool ``AECORE_JOBS`` (or ``setting``) asks for: local processes by default, else Ray."""
    setting = (os.environ.get("AECORE_JOBS", "") if setting is None else setting).strip()
    if setting in ("", "local"):
        return LocalPool()
    if setting == "ray":
        return RayPool()
    return RayPool(address=setting)


def shared_pool() -> JobPool:
    """This process's pool, made on first use and shared by every browser session."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = pool_from_environment()
        return _pool
