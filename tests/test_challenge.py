"""The class challenge's logic (aecore/challenge.py): constraints, measures, ranking, the end time, the CSV, the class
setting only the teacher changes; and the background measures of a stopped run (aecore/jobs/run_measures.py)."""

import csv
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from aecore import checkpoints
from aecore.challenge import (
    FINAL_SETTING,
    Challenge,
    Contender,
    end_challenge,
    live_mse,
    load_challenge,
    marked,
    psnr_from_mse,
    rank,
    set_challenge,
    standing_csv,
    standing_now,
)
from aecore.config import DataConfig, ModelConfig, ObjectiveConfig, RunConfig
from aecore.errors import AecoreError
from aecore.jobs.run_measures import Measured, RunMeasures, measure_run
from aecore.jobs.store import ClassStore
from aecore.objectives import Objective
from aecore.presets import preset_config
from aecore.training import evaluate

TEACHER, STUDENT = SimpleNamespace(is_teacher=True), SimpleNamespace(is_teacher=False)
NOW = 1_000_000.0


def _challenge(measure="test_mse", **changes) -> Challenge:
    values = {"measure": measure, "dataset": "mnist", "max_latent": 2, "max_epochs": 5, "models": ("MLP AE",),
              "ends_at": NOW + 600} | changes
    return Challenge(**values)


def _run(name, *, latent=2, epochs=5, preset="ae", training=False, mse=None, measured=None, measuring=False,
         **overrides) -> Contender:
    config = preset_config(preset, latent=latent, epochs=epochs, **overrides)
    return Contender(name, config, epochs, training, mse, measured, measuring)


@pytest.fixture
def store(tmp_path):
    store = ClassStore(tmp_path / "class.db")
    yield store
    store.close()


def test_three_runs_meeting_or_missing_the_constraints():
    challenge = _challenge()
    meets = _run("Blue Otter", mse=0.03)
    too_wide = _run("Red Fox", latent=8, mse=0.01)  # better, but its code is too large
    too_long_and_variational = _run("Jade Owl", preset="vae", epochs=20, mse=0.02)
    standing = rank(challenge, [meets, too_wide, too_long_and_variational])
    assert [(p.rank, p.name) for p in standing.ranked] == [(1, "Blue Otter")]
    assert {p.name: p.reasons for p in standing.apart} == {
        "Red Fox": ("latent size 8 > 2",),
        "Jade Owl": ("20 epochs > 5", "MLP VAE is not one of MLP AE")}
    assert standing.waiting == ()
    other_data = rank(challenge, [_run("Teal Yak", dataset="digits", mse=0.01),
                                  _run("Ivory Ibis", preset="lecture-003-ae", mse=0.01)])
    assert [p.reasons for p in other_data.apart] == [("trained on digits, not mnist",),
                                                     ("trained on classes 1, 5, 6 only, not all",)]
    assert challenge.describe() == "lowest test MSE on mnist · latent ≤ 2 · ≤ 5 epochs · MLP AE"
    anything = _challenge(max_latent=None, max_epochs=None, models=())
    assert anything.describe() == "lowest test MSE on mnist"
    assert {p.name for p in rank(anything, [meets, too_wide, too_long_and_variational]).ranked} == {
        "Blue Otter", "Red Fox", "Jade Owl"}


def test_the_ranking_order_for_each_measure():
    measured = {"A": Measured(0.020, 0.80), "B": Measured(0.010, 0.70), "C": Measured(0.030, 0.90)}
    runs = [_run(name, measured=value) for name, value in measured.items()]
    by_mse = rank(_challenge("test_mse"), runs)
    assert [(p.rank, p.name, p.shown, p.measured_on) for p in by_mse.ranked] == [
        (1, "B", "0.01000", "test set"), (2, "A", "0.02000", "test set"), (3, "C", "0.03000", "test set")]
    by_psnr = rank(_challenge("psnr"), runs)  # higher is better: the lowest MSE first
    assert [p.name for p in by_psnr.ranked] == ["B", "A", "C"]
    assert by_psnr.ranked[0].value == pytest.approx(20.0) and by_psnr.ranked[0].shown == "20.00"
    by_probe = rank(_challenge("probe"), runs)
    assert [(p.name, p.shown) for p in by_probe.ranked] == [("C", "90.0%"), ("A", "80.0%"), ("B", "70.0%")]
    tied = rank(_challenge("test_mse"), [_run("X", mse=0.01), _run("Y", mse=0.01), _run("Z", mse=0.02)])
    assert [(p.rank, p.name) for p in tied.ranked] == [(1, "X"), (1, "Y"), (3, "Z")]


def test_live_values_while_training_and_measuring_until_the_probe_is_ready():
    training = _run("Live", training=True, mse=0.04)
    queued = _run("Queued", training=True)
    bce_training = _run("Bce", preset="vae", training=True)
    stopped_measuring = _run("Done", mse=0.05, measuring=True)
    challenge = _challenge("test_mse", models=())
    standing = rank(challenge, [training, queued, bce_training, stopped_measuring])
    assert [(p.name, p.measured_on, p.status) for p in standing.ranked] == [
        ("Live", "validation, live", "training"), ("Done", "validation", "stopped")]
    assert {p.name: p.shown for p in standing.waiting} == {"Queued": "after its first epoch",
                                                          "Bce": "measured when it stops"}
    assert not standing.settled  # a stopped run is still being measured
    probe = rank(replace(challenge, measure="probe"), [training, stopped_measuring, _run("Gone")])
    assert probe.ranked == ()
    assert {p.name: p.shown for p in probe.waiting} == {"Live": "measured when it stops", "Done": "measuring...",
                                                       "Gone": "no checkpoint"}


def test_live_mse_is_the_validation_loss_of_unit_pixel_mse_runs_and_psnr_assumes_a_peak_of_one():
    history = ({"val": {"total": 15.7, "reconstruction": 0.02}},)
    assert live_mse(preset_config("ae"), history) == 0.02
    assert live_mse(preset_config("ae"), ()) is None
    assert live_mse(preset_config("vae"), history) is None  # BCE: its loss is no MSE
    standardised = preset_config("ae")
    standardised = replace(standardised, data=replace(standardised.data, normalization="standard"),
                           model=replace(standardised.model, output_activation="linear"))
    assert live_mse(standardised, history) is None  # z-scores, not pixels
    assert psnr_from_mse(0.01) == pytest.approx(20.0) and psnr_from_mse(1.0) == 0.0


def test_the_validation_loss_is_the_pixel_mse_on_the_digits(digits, model):
    """The normalisation the live measure assumes, checked against the data: unit inputs are the pixels, in [0, 1],
    and the validation loss's reconstruction part is their per-pixel MSE."""
    pixels = digits.normalizer.inverse(digits.val.x)
    assert torch.equal(pixels, digits.val.x) and float(pixels.min()) >= 0.0 and float(pixels.max()) <= 1.0
    reported = evaluate(model, Objective(ObjectiveConfig()), digits.val)["reconstruction"]
    with torch.inference_mode():
        by_hand = float((model.reconstruct(digits.val.x) - pixels).square().mean())
    assert reported == pytest.approx(by_hand, rel=1e-5)


def test_after_the_end_time_the_standing_is_frozen_until_the_teacher_sets_another(store):
    challenge = _challenge(ends_at=NOW)
    set_challenge(store, TEACHER, challenge)
    before = standing_now(store, challenge, [_run("A", mse=0.02), _run("B", mse=0.03)], now=NOW - 1)
    assert not before.final and store.setting(FINAL_SETTING, "") == ""
    pending = standing_now(store, challenge, [_run("A", mse=0.02, measuring=True)], now=NOW)
    assert not pending.final  # a stopped run still being measured: not frozen yet
    final = standing_now(store, challenge, [_run("A", mse=0.02, measured=Measured(0.025, None)),
                                            _run("B", mse=0.03)], now=NOW)
    assert final.final and [(p.name, p.value) for p in final.ranked] == [("A", 0.025), ("B", 0.03)]
    later = standing_now(store, challenge, [_run("B", mse=0.001), _run("C", mse=0.0001)], now=NOW + 60)
    assert later.final and later.ranked == final.ranked  # training after the end changes nothing
    set_challenge(store, TEACHER, replace(challenge, ends_at=NOW + 3600))
    assert store.setting(FINAL_SETTING, "") == ""


def test_the_csv_lists_ranked_waiting_and_apart_runs():
    challenge = _challenge("psnr")
    standing = rank(challenge, [_run("Slow", mse=0.02), _run("Fast", mse=0.01), _run("Busy", training=True),
                                _run("Wide", latent=16, mse=0.001)])
    rows = list(csv.DictReader(io.StringIO(standing_csv(challenge, standing))))
    assert [(row["rank"], row["name"], row["PSNR (dB)"]) for row in rows] == [
        ("1", "Fast", "20"), ("2", "Slow", "16.9897"), ("", "Busy", "after its first epoch"), ("", "Wide", "")]
    assert rows[0]["measured on"] == "validation" and rows[0]["model"] == "MLP AE" and rows[0]["latent"] == "2"
    assert rows[3]["out because"] == "latent size 16 > 2" and rows[2]["status"] == "training"
    assert marked("Fast", "Fast") == "Fast (you)" and marked("Fast", "Slow") == "Fast"


def test_only_the_teacher_sets_changes_or_ends_the_challenge_and_it_survives_a_restart(store, tmp_path):
    challenge = _challenge()
    for action in (lambda: set_challenge(store, STUDENT, challenge), lambda: end_challenge(store, STUDENT),
                   lambda: set_challenge(store, STUDENT, None)):
        with pytest.raises(AecoreError, match="only the teacher"):
            action()
    assert load_challenge(store) is None
    set_challenge(store, TEACHER, challenge)
    store.close()
    reopened = ClassStore(tmp_path / "class.db")  # a restart
    assert load_challenge(reopened) == challenge
    with pytest.raises(AecoreError, match="only the teacher"):
        set_challenge(reopened, STUDENT, None)
    end_challenge(reopened, TEACHER, now=NOW + 5)
    assert load_challenge(reopened).ends_at == NOW + 5
    set_challenge(reopened, TEACHER, None)
    assert load_challenge(reopened) is None
    reopened.close()
    with pytest.raises(AecoreError, match="latent"):
        Challenge(max_latent=0)
    with pytest.raises(AecoreError, match="model kind"):
        Challenge(models=("transformer",))


def test_run_measures_measure_each_checkpoint_once_in_the_background(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / checkpoints.MODEL_FILE).write_bytes(b"weights")
    calls, release = [], threading.Event()

    def measure(path: str) -> Measured:
        release.wait(10)
        calls.append(path)
        return Measured(0.01 * len(calls), 0.5)

    measures = RunMeasures(lambda: ThreadPoolExecutor(1), measure)
    assert measures.get(folder) is None and measures.get(folder) is None  # measuring: asked twice, started once
    release.set()
    measures._executor.shutdown(wait=True)
    assert measures.get(folder) == Measured(0.01, 0.5) and calls == [str(folder)]
    os.utime(folder / checkpoints.MODEL_FILE, ns=(1, 1))  # a new checkpoint: measured again
    measures._executor = None
    assert measures.get(folder) is None
    measures._executor.shutdown(wait=True)
    assert measures.get(folder) == Measured(0.02, 0.5)
    assert measures.get(tmp_path / "gone").note == "its checkpoint is gone"


def test_measure_run_gives_the_test_pixel_mse_and_a_probe_accuracy(tmp_path, digits, model):
    config = RunConfig(data=DataConfig(name="digits"), model=ModelConfig(hidden=(32,), latent_dim=4))
    folder = checkpoints.save_run(tmp_path / "run", config=config, model=model, history=[])
    measured = measure_run(folder, probe_train=500, probe_test=200)
    with torch.inference_mode():
        by_hand = float((model.reconstruct(digits.test.x) - digits.test.x).square().mean())
    assert measured.test_mse == pytest.approx(by_hand, rel=1e-4)
    assert 0.1 < measured.probe_accuracy <= 1.0 and measured.note == ""
    assert measure_run(tmp_path / "nothing").note.startswith("could not be measured")
