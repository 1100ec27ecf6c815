"""Jobs on Ray: the tests that need a local Ray live in this file, so that one worker starts it once for the whole
run (the session fixture ray_local in conftest.py; pyproject.toml runs a file per worker)."""

import time

from aecore.data import load_dataset
from aecore.jobs import FINISHED, TrainingJob
from aecore.jobs.ray_pool import RayPool, RaySlicedPool
from aecore.presets import preset_config
from aecore.sweep import DONE, SweepSpec, TuneSweep

BASE = {"dataset": "digits", "device": "cpu"}


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
