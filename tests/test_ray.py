"""Jobs on Ray: the tests that need a local Ray live in this file, so that one worker starts it once for the whole
run (the session fixture ray_local in conftest.py; pyproject.toml runs a file per worker).

The last test takes the Ray path the way the dashboard takes it, in a process of its own: a pool first made by a
page's script thread, which then ends. Ray's GCS and raylet ended with the thread that called ``ray.init()``, and
Ray then ended the whole process about 60 s later ("Failed to connect to GCS within 60 seconds"): one press of
Start took the dashboard down. That process mostly waits out Ray's GCS timeout, so it starts with this file's
first test and is checked by its last: the wait overlaps the other Ray tests instead of holding a worker idle.
"""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from aecore.data import load_dataset
from aecore.jobs import FINISHED, TrainingJob
from aecore.jobs.ray_pool import RayPool, RaySlicedPool
from aecore.presets import preset_config
from aecore.sweep import DONE, SweepSpec, TuneSweep

BASE = {"dataset": "digits", "device": "cpu"}
ROOT = Path(__file__).resolve().parent.parent

# Ray waits this long for a GCS that is gone before it ends the process (RAY_gcs_rpc_server_reconnect_timeout_s,
# 60 s by default): shortened so that the test sees the old failure sooner (checked: with ray.init() called by the
# ending thread itself and 10 s here, the process was gone 10.5 s after the init). Not shorter: on a loaded 2-core
# CI, a live GCS answered late enough for 10 s to end a healthy process.
GCS_TIMEOUT_S = 20

PAGE_THREAD_SCRIPT = f"GCS_TIMEOUT_S = {GCS_TIMEOUT_S}\n" + textwrap.dedent("""
    import threading, time
    from aecore.jobs import FINISHED, RayPool, TrainingJob
    from aecore.data import load_dataset
    from aecore.presets import preset_config

    made = []
    page = threading.Thread(target=lambda: made.append(RayPool(slots={"cpu": 1})))  # a page's script thread
    page.start()
    page.join()  # ... which ends, as every script run does
    time.sleep(GCS_TIMEOUT_S + 8)  # past Ray's wait for its GCS: the process used to be ended here
    config = preset_config("ae", dataset="digits", epochs=1)
    job = TrainingJob(lambda data, device=None: load_dataset(data), made[0])
    job.start(config)
    job.join(timeout=180)
    print("status", job.snapshot().status == FINISHED)
""")


@pytest.fixture(scope="module", autouse=True)
def page_thread_ray_process(ray_local, tmp_path_factory):
    """PAGE_THREAD_SCRIPT in a process of its own with a Ray of its own, started once this file's Ray is up (two
    Rays starting at once on 2 cores are slow to start); test_a_ray_pool_made_by_a_thread_that_ends_keeps_working
    reads its outcome, and a process still running when the file ends is killed."""
    folder = tmp_path_factory.mktemp("ray-from-a-page")
    with (folder / "stdout").open("w") as stdout, (folder / "stderr").open("w") as stderr:  # no pipe to fill up
        process = subprocess.Popen([sys.executable, "-c", PAGE_THREAD_SCRIPT], cwd=ROOT, stdout=stdout,
                                   stderr=stderr, env={"PATH": "/usr/bin:/bin", "AECORE_DATA_DIR": str(folder),
                                                       "HOME": str(folder),
                                                       "RAY_gcs_rpc_server_reconnect_timeout_s": str(GCS_TIMEOUT_S)})
    yield process, folder
    if process.poll() is None:
        process.kill()
        process.wait()


def test_the_same_sweep_runs_as_a_ray_tune_experiment(ray_local, tmp_path):
    spec = SweepSpec.parse("ae", {"latent": "2,3"}, epochs=1, **BASE)  # a grid of two: each trial starts a process
    sweep = TuneSweep(spec, tmp_path, early_stopping=False, max_concurrent=1)
    sweep.start()
    assert sweep.wait(timeout=600)
    results = sweep.results()
    assert [r.status for r in results] == [DONE] * 2
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith("sweep-")) == sorted(
        spec.run_name(r.combination) for r in results)
    assert all(r.preview is not None and r.val_loss is not None for r in results)


def _digits(config, device=None):
    return load_dataset(config)


def _digits_run(epochs: int, seed: int = 0):
    return preset_config("ae", dataset="digits", epochs=epochs, seed=seed)


def test_a_short_job_runs_through_a_local_ray(ray_local, tmp_path):
    """One request at a time on Ray tasks (AECORE_JOBS=ray-fifo): the run trains, previews and parks its model."""
    pool = RayPool(slots={"cpu": 1})
    try:
        job = TrainingJob(_digits, pool, folder=tmp_path / "student")
        job.start(_digits_run(epochs=1))
        assert job.join(timeout=240)
        done = job.snapshot()
        assert done.status == FINISHED and done.epoch == 1 and done.preview is not None
        assert job.trained()[0].latent_dim == done.config.model.latent_dim
    finally:
        pool.shutdown()


def test_several_students_train_at_once_on_one_ray_actor(ray_local, tmp_path):
    pool = RaySlicedPool(workers=1, slice_s=0.2)
    try:
        jobs = [TrainingJob(_digits, pool, folder=tmp_path / f"student-{i}") for i in range(3)]
        for seed, job in enumerate(jobs):
            job.start(_digits_run(epochs=15, seed=seed))
        first_steps, finished_at = {}, None
        deadline = time.monotonic() + 300
        while not all(job.join(0) for job in jobs):
            assert time.monotonic() < deadline, [job.snapshot().message for job in jobs]
            for i, job in enumerate(jobs):
                if i not in first_steps and job.snapshot().step > 0:
                    first_steps[i] = time.monotonic()
                if finished_at is None and job.snapshot().status == FINISHED:
                    finished_at = time.monotonic()
            time.sleep(0.05)
        assert len(first_steps) == 3 and max(first_steps.values()) <= finished_at  # all stepped before one ended
        assert [job.snapshot().status for job in jobs] == [FINISHED] * 3
        assert all(job.snapshot().epoch == 15 for job in jobs)
    finally:
        pool.shutdown()


def test_a_ray_pool_made_by_a_thread_that_ends_keeps_working(page_thread_ray_process):
    """The dashboard's Ray path (this module's docstring): the pool made by a thread that ended still trains a job
    after Ray's wait for a lost GCS is over. Last in the file: its process started with the first test."""
    process, folder = page_thread_ray_process
    process.wait(timeout=400)
    stdout, stderr = (folder / "stdout").read_text(), (folder / "stderr").read_text()
    assert "status True" in stdout, f"exit {process.returncode}\n" + stdout[-2000:] + stderr[-3000:]
