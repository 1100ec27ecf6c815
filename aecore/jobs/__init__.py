"""Training away from the UI process: worker processes on this machine, or Ray tasks on a cluster.

The dashboard asks :func:`shared_pool` for the process-wide :class:`JobPool`
and submits :class:`TrainRequest` s to it; messages come back to a listener.
``AECORE_JOBS`` chooses the engine (:mod:`aecore.jobs.engines`). A
:class:`TrainingJob` is one student's run on top of a pool; the
:class:`~aecore.jobs.service.JobService` keeps every browser's runs, on disk
and indexed in SQLite (:mod:`aecore.jobs.store`), whatever happens to the
browser or the server.
"""

from aecore.jobs.engines import pool_from_environment, shared_pool
from aecore.jobs.pool import JobPool, LocalPool, QueueInfo, default_slots
from aecore.jobs.ray_pool import RayPool
from aecore.jobs.sliced_pool import SlicedPool
from aecore.jobs.training_job import (
    ACTIVE_STATES,
    FAILED,
    FINISHED,
    IDLE,
    LOADING,
    QUEUED,
    RUNNING,
    STOPPED,
    STOPPING,
    JobError,
    JobSnapshot,
    TrainingJob,
)
from aecore.jobs.work import Claimed, Dropped, Events, JobFailed, Message, Parked, TrainRequest

__all__ = ["ACTIVE_STATES", "FAILED", "FINISHED", "IDLE", "LOADING", "QUEUED", "RUNNING", "STOPPED", "STOPPING",
           "Claimed", "Dropped", "Events", "JobError", "JobFailed", "JobPool", "JobSnapshot", "LocalPool", "Message",
           "Parked", "QueueInfo", "RayPool", "SlicedPool", "TrainRequest", "TrainingJob", "default_slots",
           "pool_from_environment", "shared_pool"]
