"""Sweeps: a grid of runs in worker processes, saved by their settings, stoppable, with early stopping."""

import time

import pytest

from aecore.checkpoints import load_run
from aecore.config import DataConfig
from aecore.data import load_dataset
from aecore.errors import ConfigError
from aecore.events import Epoch
from aecore.sweep import DONE, PRUNED, STOPPED, Sweep, SweepSpec, results_table
from aecore.training import TrainingState, fit

BASE = {"dataset": "digits", "device": "cpu"}


@pytest.fixture(scope="module")
def pool(digits_pool):
    return digits_pool


def test_a_spec_reads_its_grid_from_text_and_names_runs_by_their_settings():
    spec = SweepSpec.parse("ae", {"latent": "2,8", "noise": "0, 0.3"}, epochs=2, **BASE)
    assert spec.combinations() == [{"latent": 2, "noise": 0.0}, {"latent": 2, "noise": 0.3},
                                   {"latent": 8, "noise": 0.0}, {"latent": 8, "noise": 0.3}]
    assert spec.run_name({"latent": 8, "noise": 0.3}) == "sweep-ae-latent8-noise0.3"
    config = spec.config_of({"latent": 8, "noise": 0.3})
    assert config.model.latent_dim == 8 and config.objective.noise_factor == 0.3 and config.train.epochs == 2
    assert config.data.name == "digits"


@pytest.mark.parametrize(("axes", "message"), [
    ({"latent": "2,0"}, "model.latent_dim"),
    ({"latnet": "2,8"}, "unknown setting 'latnet'"),
    ({"latent": "2,eight"}, "latent must be an integer; got 'eight'"),
    ({"latent": "2", "noise": "0", "lr": "0.1"}, "one or two settings"),
    ({}, "one or two settings"),
])
def test_bad_values_are_refused_with_one_line(axes, message):
    with pytest.raises(ConfigError, match=message) as info:
        SweepSpec.parse("ae", axes, epochs=1, **BASE)
    assert "\n" not in str(info.value)


def test_a_two_by_two_sweep_runs_to_the_end_and_matches_each_run_trained_alone(pool, tmp_path):
    spec = SweepSpec.parse("ae", {"latent": "2,3", "noise": "0,0.3"}, epochs=2, **BASE)
    sweep = Sweep(spec, pool, tmp_path)
    sweep.start()
    assert sweep.wait(timeout=600)
    results = sweep.results()
    assert [r.status for r in results] == [DONE] * 4
    data = load_dataset(DataConfig(name="digits"))
    for result in results:
        run = load_run(result.saved_to)
        assert run.name == spec.run_name(result.combination) and run.epochs == 2
        assert result.preview.test_inputs.shape[0] == 8
        assert result.preview.codes.shape[1] == result.combination["latent"]
        alone = TrainingState.create(spec.config_of(result.combination), data.input_shape, "cpu")
        last = [event for event in fit(alone, data) if isinstance(event, Epoch)][-1]
        assert result.val_loss == pytest.approx(last.val["total"], rel=1e-4)
    rows = results_table(results)
    assert rows[0]["latent"] == 2 and rows[0]["noise"] == 0.0 and rows[0]["status"] == DONE


def test_a_stopped_sweep_keeps_its_finished_runs(pool, tmp_path):
    spec = SweepSpec.parse("ae", {"latent": "2,3"}, epochs=40, **BASE)
    quick = SweepSpec.parse("ae", {"latent": "2"}, epochs=1, **BASE)
    sweep = Sweep(spec, pool, tmp_path)
    first = Sweep(quick, pool, tmp_path)
    first.start()
    sweep.start()
    assert first.wait(timeout=300) and first.results()[0].status == DONE
    deadline = time.monotonic() + 120
    while sweep.results()[0].epoch < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    sweep.stop()
    assert sweep.wait(timeout=120)
    statuses = [r.status for r in sweep.results()]
    assert statuses == [STOPPED, STOPPED]
    assert load_run(first.results()[0].saved_to).epochs == 1  # what finished stays saved
    assert load_run(sweep.results()[0].saved_to).epochs >= 1  # and what was stopped keeps its epochs


def test_early_stopping_stops_a_hopeless_run_and_says_why(pool, tmp_path):
    spec = SweepSpec.parse("ae", {"lr": "0.003,0.000001"}, epochs=4, **BASE)
    sweep = Sweep(spec, pool, tmp_path, early_stopping=True)
    sweep.start()
    assert sweep.wait(timeout=600)
    good, hopeless = sweep.results()
    assert good.status == DONE and good.epoch == 4
    assert hopeless.status == PRUNED and hopeless.epoch < 4 and "successive halving" in hopeless.message
