"""Training jobs in worker processes: lifecycle, the queue, errors, a killed worker, save and load, Ray."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from functools import lru_cache

import pytest
import torch

from aecore.checkpoints import load_run
from aecore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from aecore.data import load_dataset
from aecore.events import Finished
from aecore.jobs import JobFailed, LocalPool, TrainRequest
from aecore.jobs import work as job_work
from aecore.jobs.training_job import (
    FAILED,
    FINISHED,
    QUEUED,
    RUNNING,
    STOPPED,
    JobError,
    JobSnapshot,
    TrainingJob,
    running_poll_s,
)
from aecore.presets import preset_config
from aecore.training import TrainingState, fit


@lru_cache(maxsize=2)
def _digits(config: DataConfig, device=None):
    return load_dataset(config, device or "cpu")


def _config(epochs=2, **overrides):
    return preset_config("ae", **{"dataset": "digits", "latent": 2, "device": "cpu", "epochs": epochs, **overrides})


def _wait(job, predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = job.snapshot()
        if predicate(snapshot):
            return snapshot
        time.sleep(0.02)
    raise AssertionError(f"timed out; last snapshot: {job.snapshot()}")


@pytest.fixture(scope="module")
def pool(digits_pool):
    return digits_pool


def _job(pool):
    return TrainingJob(_digits, pool)


def test_a_job_trains_in_a_worker_process_and_reports_progress(pool):
    job = _job(pool)
    job.start(_config(epochs=2))
    done = _wait(job, lambda s: s.status == FINISHED)
    assert done.worker_pid not in (None, os.getpid())
    assert done.epoch == 2 and len(done.history) == 2 and done.progress == 1.0
    assert done.preview is not None and done.preview.codes.shape[1] == 2
    assert done.step_losses and done.step_losses[-1][0] == pytest.approx(2.0)
    assert "CPU" in done.device_name and "Finished 2 epochs" in done.message
    model, data = job.trained()
    assert not model.training and data.name == "digits"


def test_stop_and_resume_across_the_process_boundary_keep_weights_optimiser_and_history(pool):
    job = _job(pool)
    job.start(_config(epochs=1))
    first = _wait(job, lambda s: s.status == FINISHED)
    job.resume(more_epochs=1)
    done = _wait(job, lambda s: s.status == FINISHED and s.epoch == 2)
    assert [record["epoch"] for record in done.history] == [1, 2]
    assert done.history[0] == first.history[0] and done.history[1]["step"] == 2 * first.step

    data = _digits(DataConfig(name="digits"))  # the same two epochs in one go, in this process
    straight = TrainingState.create(_config(epochs=2), data.input_shape, "cpu", class_names=data.class_names)
    assert isinstance(list(fit(straight, data))[-1], Finished)
    resumed, _ = job.trained()
    for name, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=1e-4, atol=1e-5, msg=name)


def test_a_stopped_run_resumes_towards_its_target_and_a_second_start_is_refused(pool):
    job = _job(pool)
    job.start(_config(epochs=30))
    _wait(job, lambda s: s.status == RUNNING and s.step > 3)
    with pytest.raises(JobError, match="stop it first"):
        job.start(_config())
    job.stop()
    stopped = _wait(job, lambda s: s.status == STOPPED)
    assert stopped.step > 0 and stopped.epoch < 30 and stopped.has_model
    job.resume()
    assert job.snapshot().epochs == 30
    _wait(job, lambda s: s.status == RUNNING and s.step > stopped.step)
    job.stop()
    assert _wait(job, lambda s: s.status == STOPPED).step > stopped.step


def test_the_queue_is_first_come_first_served_visible_and_a_stop_leaves_it_at_once(pool):
    first, second, third = _job(pool), _job(pool), _job(pool)
    first.start(_config(epochs=200))
    _wait(first, lambda s: s.status == RUNNING)
    second.start(_config(epochs=1))
    third.start(_config(epochs=1))
    assert second.snapshot().status == QUEUED and second.snapshot().place_in_line == 1
    waiting = third.snapshot()
    assert waiting.place_in_line == 2 and "2nd in line of 2" in waiting.message
    assert "1 of 1 slots busy" in waiting.message
    assert waiting.poll_every_s > first.snapshot().poll_every_s  # a waiting page polls less often
    assert first.snapshot().poll_every_s == running_poll_s(1) == 1.0  # one run trains: redrawn every second
    second.stop()
    assert second.snapshot().message == "Stopped while waiting for a slot"  # at once, not at the next poll
    assert third.snapshot().place_in_line == 1
    first.stop()
    _wait(third, lambda s: s.status == FINISHED)
    assert pool.busy("cpu") == 0


def test_two_sessions_jobs_never_see_each_others_events():
    pool = LocalPool({"cpu": 2})
    try:
        small, large = TrainingJob(_digits, pool), TrainingJob(_digits, pool)
        small.start(_config(epochs=2, latent=2))
        large.start(_config(epochs=3, latent=5))
        small_done = _wait(small, lambda s: s.status == FINISHED)
        large_done = _wait(large, lambda s: s.status == FINISHED)
        assert small_done.preview.codes.shape[1] == 2 and large_done.preview.codes.shape[1] == 5
        assert len(small_done.history) == 2 and len(large_done.history) == 3
        assert small.trained()[0].latent_dim == 2 and large.trained()[0].latent_dim == 5
    finally:
        pool.shutdown()


def test_a_killed_worker_fails_its_job_with_a_message_and_frees_its_slot(pool):
    victim, next_in_line = _job(pool), _job(pool)
    victim.start(_config(epochs=200))
    running = _wait(victim, lambda s: s.status == RUNNING and s.step > 0)
    next_in_line.start(_config(epochs=1))
    os.kill(running.worker_pid, signal.SIGKILL)
    failed = _wait(victim, lambda s: s.status == FAILED)
    assert "stopped unexpectedly" in failed.message
    done = _wait(next_in_line, lambda s: s.status == FINISHED)  # the waiting job runs on a fresh worker
    assert done.worker_pid != running.worker_pid
    victim.start(_config(epochs=1))  # and the failed session can start again
    _wait(victim, lambda s: s.status == FINISHED)


def test_a_data_error_in_the_worker_ends_the_job_with_its_message(pool):
    job = _job(pool)
    job.start(_config(dataset="folder:/no/such/folder"))
    assert "/no/such/folder" in _wait(job, lambda s: s.status == FAILED).message


def test_an_unexpected_error_in_a_worker_is_reported_not_raised(monkeypatch, tmp_path):
    def broken_fit(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(job_work, "fit", broken_fit)
    sent = []
    request = TrainRequest("job", _config(), 1, park_in=str(tmp_path / "state"))
    job_work.run_training(request, sent.append, stop=None)
    assert isinstance(sent[-1], JobFailed) and "ZeroDivisionError: boom" in sent[-1].message


def test_a_diverged_job_says_why_and_stays_usable(pool):
    diverging = RunConfig(data=DataConfig(name="digits"),
                          model=ModelConfig(hidden=(), latent_dim=4, output_activation="linear"),
                          train=TrainConfig(epochs=3, lr=10.0, optimizer="sgd", device="cpu"))
    job = _job(pool)
    job.start(diverging)
    assert "lower learning rate" in _wait(job, lambda s: s.status == FAILED).message
    job.start(_config(epochs=1))  # a new start after a failure works
    _wait(job, lambda s: s.status == FINISHED)


def test_save_validates_names_and_load_continues_a_saved_run(pool, tmp_path):
    job = _job(pool)
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
    assert (path / "preview.png").is_file() and (path / "optimizer.safetensors").is_file()
    other = _job(pool)
    other.start(_config(epochs=1))
    _wait(other, lambda s: s.status == FINISHED)
    with pytest.raises(JobError, match="already exists"):
        other.save("my-run", root=tmp_path)

    loaded = _job(pool)
    loaded.load(path)
    assert loaded.snapshot().epoch == 1 and loaded.snapshot().has_model
    loaded.resume(more_epochs=1)
    done = _wait(loaded, lambda s: s.status == FINISHED and s.epoch == 2)
    assert len(done.history) == 2
    loaded.save("my-run", root=tmp_path)  # saving back over the run it came from is allowed
    assert load_run(path).epochs == 2


def test_save_while_training_is_refused_and_closing_stops_the_job(pool, tmp_path):
    job = _job(pool)
    job.start(_config(epochs=200))
    _wait(job, lambda s: s.status == RUNNING and s.step > 0)
    with pytest.raises(JobError, match="while a run is training"):
        job.save("busy", root=tmp_path)
    folder = job._folder
    job.close()  # what the session's end does
    assert job.join(timeout=30)
    assert job.snapshot().status == STOPPED and not folder.exists()


def test_a_worker_never_runs_the_parents_main_module_again(tmp_path):
    """Under Streamlit, __main__ is the page script: a worker that re-ran it would start workers itself."""
    script = tmp_path / "page.py"
    script.write_text("raise SystemExit('the page script ran in a worker')\n")
    code = (
        "import subprocess, sys, types\n"
        f"page = types.ModuleType('__main__'); page.__file__ = {str(script)!r}\n"
        "sys.modules['__main__'] = page  # what Streamlit does for each script run\n"
        "from aecore.config import DataConfig\n"
        "from aecore.jobs import LocalPool\n"
        "pool = LocalPool({'cpu': 1})\n"
        "pid = pool.warm_up(DataConfig(name='digits')).result(timeout=120)\n"
        "children = subprocess.run(['ps', '--ppid', str(pid), '-o', 'pid='], capture_output=True, text=True)\n"
        "assert children.stdout.strip() == '', children.stdout  # the worker started no process of its own\n"
        "pool.shutdown()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (an exited one nobody reaped, a zombie, does not)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in status)
    except (FileNotFoundError, ProcessLookupError):  # gone before, or while, its status was read
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_with_the_server_that_started_them():
    """A server killed (or stopped) while its workers wait for jobs takes them with it, training and maps alike."""
    code = (
        "import time\n"
        "from aecore.config import DataConfig\n"
        "from aecore.jobs import LocalPool\n"
        "from aecore.jobs.projection_work import Projections\n"
        "pool = LocalPool({'cpu': 1})\n"
        "print(pool.warm_up(DataConfig(name='digits')).result(timeout=120), flush=True)\n"
        "projections = Projections()\n"
        "projections.warm_up()\n"
        "print(projections._spare[0].pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(server.stdout.readline()) for _ in range(2)]
        assert all(_alive(pid) for pid in workers)
    finally:
        server.kill()  # no clean-up of its own: as a crash, or a terminal closed under `make run`
        server.wait(30)
    deadline = time.monotonic() + 60  # a limit for the workers to notice, not a measure of speed
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)


def test_a_busier_class_redraws_its_live_views_less_often_in_whole_seconds():
    cadences = [running_poll_s(runs) for runs in range(0, 40)]
    assert cadences[:6] == [1.0] * 6 and cadences[10] == 2.0 and cadences[30] == 3.0
    assert cadences == sorted(cadences) and set(cadences) == {1.0, 2.0, 3.0}
    busy = JobSnapshot(status=RUNNING, running_poll_s=running_poll_s(30))
    assert busy.poll_every_s == 1.0  # no step yet: the student sees the first one within a second
    assert replace(busy, step=1).poll_every_s == 3.0
