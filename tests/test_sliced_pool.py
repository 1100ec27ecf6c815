"""The time-sliced pool: every job trains at once, least attained service first, with the same losses as alone."""

import contextlib
import logging
import os
import re
import signal
import threading
import time

import pytest

from aecore.data import load_dataset
from aecore.events import Failed, Finished, Step
from aecore.jobs import Claimed, Dropped, Events, JobFailed, TrainRequest, sliced_pool
from aecore.jobs import pool as job_pools
from aecore.jobs.pool import WORKER_DIED
from aecore.jobs.sliced_pool import SlicedPool
from aecore.presets import preset_config
from aecore.training import TrainingState, fit


def _config(epochs: int, preset: str = "ae"):
    return preset_config(preset, dataset="digits", epochs=epochs)


class Recorder:
    """A job's listener: every message with the time it came, and an event set by its last one."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, object]] = []
        self.done = threading.Event()

    def __call__(self, message) -> None:
        self.messages.append((time.monotonic(), message))
        final = isinstance(message, JobFailed | Dropped) or (
            isinstance(message, Events) and any(isinstance(e, Finished | Failed) for e in message.events))
        if final:
            self.done.set()

    def events(self):
        return [e for _, m in self.messages if isinstance(m, Events) for e in m.events]

    def first(self, kind) -> float:
        return next(t for t, m in self.messages if isinstance(m, Events) and any(isinstance(e, kind) for e in m.events))

    def claimed_at(self) -> float:
        return next(t for t, m in self.messages if isinstance(m, Claimed))


@pytest.fixture(scope="module")
def pool():
    pool = SlicedPool(1, slice_s=0.2, threads=1)
    yield pool
    pool.shutdown()


def _submit(pool, tmp_path, name: str, config, *, priority: int = 0) -> Recorder:
    recorder = Recorder()
    pool.submit(TrainRequest(name, config, config.train.epochs, str(tmp_path / name), priority=priority), recorder)
    return recorder


def test_every_job_steps_before_any_of_them_finishes(pool, tmp_path):
    recorders = [_submit(pool, tmp_path, f"every-{i}", _config(25)) for i in range(3)]
    assert all(recorder.done.wait(180) for recorder in recorders)
    first_finish = min(recorder.first(Finished) for recorder in recorders)
    assert all(recorder.first(Step) < first_finish for recorder in recorders)
    assert all(isinstance(recorder.events()[-1], Finished) for recorder in recorders)


def test_a_sliced_run_gives_the_same_losses_as_a_run_alone(pool, tmp_path):
    config = _config(3, "vae")  # a VAE samples from torch's generator, which the jobs of a worker share
    recorders = [_submit(pool, tmp_path, f"same-{i}", config) for i in range(2)]
    assert all(recorder.done.wait(180) for recorder in recorders)
    data = load_dataset(config.data)
    alone = [e.losses for e in fit(TrainingState.create(config, data.input_shape), data) if isinstance(e, Step)]
    for recorder in recorders:
        assert [e.losses for e in recorder.events() if isinstance(e, Step)] == alone


def test_a_newcomer_goes_first_and_the_teacher_before_the_class(pool, tmp_path):
    long = _submit(pool, tmp_path, "long", _config(400))
    while not any(isinstance(e, Step) for e in long.events()):
        time.sleep(0.05)
    student = _submit(pool, tmp_path, "student", _config(2))
    teacher = _submit(pool, tmp_path, "teacher", _config(2), priority=1)
    assert teacher.done.wait(120) and student.done.wait(120)
    assert teacher.claimed_at() < student.claimed_at()  # both new, equally served: the teacher's first
    assert not long.done.is_set()  # both finished while the long one still trains: nobody waited for it
    pool.stop("long")
    assert long.done.wait(60)
    assert long.events()[-1].stopped


def test_stopping_a_paused_job_and_dropping_a_waiting_one(tmp_path):
    pool = SlicedPool(1, slice_s=0.2, threads=1)
    try:
        first, second = (_submit(pool, tmp_path, name, _config(400)) for name in ("first", "second"))
        third = Recorder()
        pool.submit(TrainRequest("third", _config(5), 5, str(tmp_path / "third")), third)
        pool.stop("third")  # before any slice: it leaves at once
        assert isinstance(third.messages[-1][1], Dropped)
        while not all(any(isinstance(e, Step) for e in r.events()) for r in (first, second)):
            time.sleep(0.05)
        pool.stop("first")
        assert first.done.wait(30) and first.events()[-1].stopped
        assert not second.done.is_set()
        pool.stop("second")
        assert second.done.wait(30)
    finally:
        pool.shutdown()


def test_a_worker_that_dies_fails_only_the_job_it_was_running(tmp_path):
    pool = SlicedPool(1, slice_s=0.3, threads=1)
    try:
        jobs = {name: _submit(pool, tmp_path, name, _config(60)) for name in ("a", "b")}
        while not all(any(isinstance(e, Step) for e in r.events()) for r in jobs.values()):
            time.sleep(0.05)
        worker = pool._workers[0]
        while worker.busy is None:
            time.sleep(0.01)
        victim = worker.busy
        worker.process.kill()
        survivor = "b" if victim == "a" else "a"
        assert jobs[victim].done.wait(30)
        assert jobs[victim].messages[-1][1] == JobFailed(victim, WORKER_DIED)
        assert jobs[survivor].done.wait(180)
        assert isinstance(jobs[survivor].events()[-1], Finished) and jobs[survivor].events()[-1].epoch == 60
    finally:
        pool.shutdown()


def test_a_worker_that_stops_answering_is_named_in_the_servers_log(tmp_path, monkeypatch, caplog):
    """A stuck worker holds up every job of its own: the log says which worker, which job, and for how long."""
    monkeypatch.setattr(sliced_pool, "OVERRUN_WARNING_S", 1.0)
    pool = SlicedPool(1, slice_s=0.2, threads=1)
    pid = pool._workers[0].process.pid
    try:
        job = _submit(pool, tmp_path, "stuck", _config(400))
        while not any(isinstance(e, Step) for e in job.events()):
            time.sleep(0.05)
        with caplog.at_level(logging.WARNING, logger="aecore.jobs.sliced_pool"):
            os.kill(pid, signal.SIGSTOP)  # the worker neither answers nor dies
            deadline = time.monotonic() + 30
            while not caplog.records and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(2.5)  # the scheduler looks again every second
            os.kill(pid, signal.SIGCONT)
        # once per slice, not once a second: the slice it was stopped in, or also the next when its answer to
        # that one was already on its way
        assert 1 <= len(caplog.records) <= 2
        for record in caplog.records:
            assert re.fullmatch(rf"training worker 0 \(pid {pid}\) has run a slice of job stuck for \d+ s; 0 other "
                                r"job\(s\) of its wait", record.getMessage())
        pool.stop("stuck")
        assert job.done.wait(30) and job.events()[-1].stopped  # answering again, it goes on as before
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        pool.shutdown()


def test_no_worker_is_started_again_while_the_interpreter_ends(tmp_path, monkeypatch):
    """At exit, multiprocessing ends every worker: a pool left open (the server's, stopped with Ctrl-C) used to start
    a fresh one then, whose start failed with a traceback on the terminal."""
    monkeypatch.setattr(job_pools, "_EXITING", threading.Event())
    before = set(threading.enumerate())
    pool = SlicedPool(1, slice_s=0.2, threads=1)
    try:
        worker = pool._workers[0]
        answers = next(thread for thread in set(threading.enumerate()) - before
                       if thread.name == "aecore-slice-answers-0")
        job_pools._EXITING.set()
        worker.process.kill()
        answers.join(10)  # it saw the pipe close and handled the worker's end
        assert not answers.is_alive() and pool._workers[0] is worker  # not replaced
    finally:
        pool.shutdown()
