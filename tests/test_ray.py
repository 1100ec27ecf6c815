"""Jobs on Ray: the tests that need a local Ray live in this file, so that one worker starts it once for the whole
run (the session fixture ray_local in conftest.py; pyproject.toml runs a file per worker)."""

from aecore.sweep import DONE, SweepSpec, TuneSweep

BASE = {"dataset": "digits", "device": "cpu"}


def test_the_same_sweep_runs_as_a_ray_tune_experiment(ray_local, tmp_path):
    spec = SweepSpec.parse("ae", {"latent": "2,3", "noise": "0,0.3"}, epochs=1, **BASE)
    sweep = TuneSweep(spec, tmp_path, early_stopping=False, max_concurrent=1)
    sweep.start()
    assert sweep.wait(timeout=600)
    results = sweep.results()
    assert [r.status for r in results] == [DONE] * 4
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith("sweep-")) == sorted(
        spec.run_name(r.combination) for r in results)
    assert all(r.preview is not None and r.val_loss is not None for r in results)
