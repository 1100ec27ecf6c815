"""The class's time slices on Ray actors: Ray places the workers, the turns stay the pool's."""

import time

from aecore.data import load_dataset
from aecore.jobs import FINISHED, TrainingJob
from aecore.jobs.ray_pool import RaySlicedPool
from aecore.presets import preset_config


def _digits(config, device=None):
    return load_dataset(config)


def test_several_students_train_at_once_on_one_ray_actor(ray_local, tmp_path):
    pool = RaySlicedPool(workers=1, slice_s=0.2)
    try:
        jobs = [TrainingJob(_digits, pool, folder=tmp_path / f"student-{i}") for i in range(3)]
        for seed, job in enumerate(jobs):
            config = preset_config("ae", epochs=15, seed=seed)
            raw = config.to_dict()
            job.start(type(config).from_dict({**raw, "data": {**raw["data"], "name": "digits"}}))
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
