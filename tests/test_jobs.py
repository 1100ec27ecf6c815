"""The dashboard's background training jobs: lifecycle, queueing, errors, save and load."""

import time
from functools import lru_cache

import pytest

from aecore.checkpoints import load_run
from aecore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from aecore.data import load_dataset
from aecore.errors import DataError
from aecore.presets import preset_config
from aecore.ui.jobs import FAILED, FINISHED, QUEUED, STOPPED, DeviceSlots, JobError, TrainingJob


@lru_cache(maxsize=2)
def _digits(config: DataConfig, device):
    return load_dataset(config, device)


def _config(epochs=2, **overrides):
    return preset_config("ae", dataset="digits", latent=2, epochs=epochs, **overrides)


def _wait(job, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = job.snapshot()
        if predicate(snapshot):
            return snapshot
        time.sleep(0.02)
    raise AssertionError(f"timed out; last snapshot: {job.snapshot()}")


def test_a_job_trains_in_the_background_and_reports_progress():
    job = TrainingJob(_digits, DeviceSlots())
    job.start(_config(epochs=2))
    done = _wait(job, lambda s: s.status == FINISHED)
    assert done.epoch == 2 and len(done.history) == 2 and done.progress == 1.0
    assert done.preview is not None and done.preview.codes.shape[1] == 2
    assert done.step_losses and done.step_losses[-1][0] == pytest.approx(2.0)
    assert "CPU" in done.device_name and "Finished 2 epochs" in done.message


def test_second_start_while_running_is_refused_and_stop_resume_continue():
    job = TrainingJob(_digits, DeviceSlots())
    job.start(_config(epochs=30))
    _wait(job, lambda s: s.step > 3)
    with pytest.raises(JobError, match="stop it first"):
        job.start(_config())
    model = job._state.model
    job.stop()
    stopped = _wait(job, lambda s: s.status == STOPPED)
    assert stopped.epoch < 30
    job.resume(more_epochs=None)  # a stopped run resumes towards its original target...
    assert job.snapshot().epochs == 30
    _wait(job, lambda s: s.epoch > stopped.epoch)
    job.stop()
    _wait(job, lambda s: s.status == STOPPED)
    assert job._state.model is model  # ...with the same model


def test_finished_runs_continue_for_more_epochs():
    job = TrainingJob(_digits, DeviceSlots())
    job.start(_config(epochs=1))
    _wait(job, lambda s: s.status == FINISHED)
    job.resume(more_epochs=2)
    done = _wait(job, lambda s: s.status == FINISHED and s.epoch == 3)
    assert [record["epoch"] for record in done.history] == [1, 2, 3]


def test_jobs_queue_for_a_busy_device_and_leave_the_queue_when_stopped():
    slots = DeviceSlots({"cpu": 1})
    first, second = TrainingJob(_digits, slots), TrainingJob(_digits, slots)
    first.start(_config(epochs=50))
    _wait(first, lambda s: s.status == "running")
    second.start(_config(epochs=1))
    time.sleep(0.3)
    queued = second.snapshot()
    assert queued.status == QUEUED and "1 of 1 on CPU busy" in queued.message
    second.stop()
    assert _wait(second, lambda s: s.status == STOPPED).message == "Stopped while waiting for a slot"
    second.start(_config(epochs=1))
    first.stop()  # frees the slot: the queued job runs
    _wait(second, lambda s: s.status == FINISHED)
    assert slots.in_use("cpu") == 0


@pytest.mark.parametrize(("error", "shown"), [
    (DataError("fashion-mnist is not on this machine"), "not on this machine"),
    (ZeroDivisionError("boom"), "ZeroDivisionError: boom"),  # unexpected errors are caught too
], ids=["expected", "unexpected"])
def test_errors_in_the_thread_end_the_job_with_a_message(error, shown):
    def broken_loader(config, device):
        raise error

    job = TrainingJob(broken_loader, DeviceSlots())
    job.start(_config())
    assert shown in _wait(job, lambda s: s.status == FAILED).message


def test_a_diverged_job_says_why_and_stays_usable():
    diverging = RunConfig(data=DataConfig(name="digits"),
                          model=ModelConfig(hidden=(), latent_dim=4, output_activation="linear"),
                          train=TrainConfig(epochs=3, lr=10.0, optimizer="sgd"))
    job = TrainingJob(_digits, DeviceSlots())
    job.start(diverging)
    assert "lower learning rate" in _wait(job, lambda s: s.status == FAILED).message
    job.start(_config(epochs=1))  # a new start after a failure works
    _wait(job, lambda s: s.status == FINISHED)


def test_save_validates_names_and_load_continues_a_saved_run(tmp_path):
    job = TrainingJob(_digits, DeviceSlots())
    with pytest.raises(JobError, match="nothing to save"):
        job.save("early", root=tmp_path)
    job.start(_config(epochs=1))
    _wait(job, lambda s: s.status == FINISHED)
    for bad in ("", "../escape", "a b", "x" * 65):
        with pytest.raises(JobError, match="run name"):
            job.save(bad, root=tmp_path)
    with pytest.raises(JobError, match="shipped run"):
        job.save("mnist-ae-latent2", root=tmp_path)
    path = job.save("my-run", root=tmp_path)
    assert load_run(path).epochs == 1 and job.snapshot().saved_to == str(path)
    other = TrainingJob(_digits, DeviceSlots())
    other.start(_config(epochs=1))
    _wait(other, lambda s: s.status == FINISHED)
    with pytest.raises(JobError, match="already exists"):
        other.save("my-run", root=tmp_path)

    loaded = TrainingJob(_digits, DeviceSlots())
    loaded.load(path)
    assert loaded.snapshot().epoch == 1 and loaded.snapshot().has_model
    loaded.resume(more_epochs=1)
    done = _wait(loaded, lambda s: s.status == FINISHED and s.epoch == 2)
    assert len(done.history) == 2
    loaded.save("my-run", root=tmp_path)  # saving back over the run it came from is allowed
    assert load_run(path).epochs == 2


def test_save_while_training_is_refused(tmp_path):
    job = TrainingJob(_digits, DeviceSlots())
    job.start(_config(epochs=50))
    _wait(job, lambda s: s.epoch >= 1)
    with pytest.raises(JobError, match="while a run is training"):
        job.save("busy", root=tmp_path)
    job.reset()
    assert job.snapshot().status == "idle" and not job._thread.is_alive()
