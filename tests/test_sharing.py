"""Identical runs train once: students who start the same settings watch one job, which stops with the last of them."""

import time

import pytest

from aecore.data import load_dataset
from aecore.jobs import FINISHED, RUNNING, STOPPED, TrainingJob
from aecore.jobs.sharing import SharedRuns
from aecore.jobs.sliced_pool import SlicedPool
from aecore.jobs.work import Parked
from aecore.presets import preset_config


def _digits(config, device=None):
    return load_dataset(config)


def _config(epochs: int, seed: int = 0):
    return preset_config("ae", dataset="digits", epochs=epochs, seed=seed)


@pytest.fixture(scope="module")
def pool():
    pool = SlicedPool(1, slice_s=0.2, threads=1)
    yield pool
    pool.shutdown()


def _jobs(pool, tmp_path, count: int):
    sharing = SharedRuns(tmp_path / "shared")
    return sharing, [TrainingJob(_digits, pool, folder=tmp_path / f"student-{i}", sharing=sharing)
                     for i in range(count)]


def _wait(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not true in time"
        time.sleep(0.05)


def test_a_late_student_watches_the_same_run_from_its_first_step(pool, tmp_path):
    sharing, (first, late, other) = _jobs(pool, tmp_path, 3)
    first.start(_config(60))
    _wait(lambda: first.snapshot().epoch >= 5)
    late.start(_config(60))
    other.start(_config(60, seed=1))  # another seed: a run of its own
    _wait(lambda: late.snapshot().status == RUNNING and other.snapshot().status == RUNNING)
    assert late.snapshot().watchers == 2 and other.snapshot().watchers == 1
    assert pool.busy("cpu") == 2  # two jobs train, for three students
    assert late.snapshot().history[:5] == first.snapshot().history[:5]  # the run so far, replayed
    assert all(job.join(180) for job in (first, late, other))
    assert first.snapshot().history == late.snapshot().history != other.snapshot().history
    assert first.snapshot().step == late.snapshot().step == 60 * 11
    assert first.model_folder() != late.model_folder() and late.model_folder().is_relative_to(tmp_path / "student-1")
    _wait(lambda: not any((tmp_path / "shared").iterdir()), 10)  # the shared checkpoints go with the run


def test_the_run_goes_on_until_the_last_of_its_students_stops_it(pool, tmp_path):
    sharing, (first, second) = _jobs(pool, tmp_path, 2)
    first.start(_config(150))
    second.start(_config(150))
    _wait(lambda: first.snapshot().epoch >= 10 and any((tmp_path / "shared").glob("*/state/model.safetensors")))
    first.stop()
    assert first.snapshot().status == STOPPED and "goes on for the 1 other" in first.snapshot().message
    kept = first.snapshot().epoch
    assert kept > 0 and first.model_folder().is_relative_to(tmp_path / "student-0")
    step = second.snapshot().step
    _wait(lambda: second.snapshot().step > step + 20)  # still training, for the other one
    second.stop()
    assert second.join(60) and second.snapshot().status == STOPPED
    first.resume()  # the copy trains on, alone
    assert first.join(180) and first.snapshot().status == FINISHED and first.snapshot().epoch == 150


def test_my_own_copy_leaves_the_shared_run_with_another_seed(pool, tmp_path):
    sharing, (first, second) = _jobs(pool, tmp_path, 2)
    first.start(_config(300))
    second.start(_config(300))
    _wait(lambda: second.snapshot().watchers == 2 and second.snapshot().step > 0)
    second.own_copy()
    _wait(lambda: second.snapshot().status == RUNNING)
    assert second.snapshot().config.train.seed != first.snapshot().config.train.seed
    assert first.snapshot().watchers == 1 and second.snapshot().watchers == 1
    for job in (first, second):
        job.stop()
        assert job.join(60)


class _SlowNews(SharedRuns):
    """Shared runs whose Parked messages never arrive: a student stops between a checkpoint and its message."""

    def _broadcast(self, run, message):
        if not isinstance(message, Parked):
            super()._broadcast(run, message)


def test_leaving_takes_the_latest_checkpoint_even_before_its_message_arrives(pool, tmp_path):
    sharing = _SlowNews(tmp_path / "shared")
    first, second = (TrainingJob(_digits, pool, folder=tmp_path / f"student-{i}", sharing=sharing) for i in range(2))
    first.start(_config(400))
    second.start(_config(400))
    _wait(lambda: any((tmp_path / "shared").glob("*/state/model.safetensors")))
    first.stop()
    assert "Resume trains your copy on" in first.snapshot().message
    assert first.model_folder().is_relative_to(tmp_path / "student-0") and first.snapshot().epoch > 0
    second.stop()
    assert second.join(60)
