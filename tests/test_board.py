"""The class board: its registry (anonymous names, weak entries, lingering, thread-safety, copies for Compare) and
its page (two sessions' runs listed, own images shown only when shared, two runs opened in Compare)."""

import gc
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from aecore import checkpoints
from aecore.checkpoints import MODEL_FILE, OPTIMIZER_FILE, PRETRAINED_DIR, load_run
from aecore.class_board import ANIMALS, BOARD, COLOURS, ClassBoard
from aecore.config import DataConfig
from aecore.data import load_dataset
from aecore.events import Preview
from aecore.jobs.training_job import FINISHED, QUEUED, RUNNING, JobSnapshot, TrainingJob
from aecore.presets import preset_config
from aecore.ui.board import status_text

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
SHIPPED = PRETRAINED_DIR / "mnist-ae-latent2"


class FakeJob:
    """Stands for a session's TrainingJob: a snapshot and, once trained, a model folder."""

    def __init__(self, snapshot: JobSnapshot | None = None, folder: Path | None = None) -> None:
        self._snapshot, self._folder = snapshot or JobSnapshot(), folder

    def snapshot(self) -> JobSnapshot:
        return self._snapshot

    def model_folder(self) -> Path | None:
        return self._folder


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _own_images_snapshot() -> JobSnapshot:
    images = np.full((3, 3, 8, 8), 0.5, dtype=np.float32)
    preview = Preview(images, images, images, images, np.zeros(3), np.zeros(3), np.zeros((3, 2)), np.zeros(3))
    config = preset_config("conv-ae", dataset="folder:/home/ada/family-photos", latent=8, epochs=3)
    return JobSnapshot(status=FINISHED, config=config, epoch=3, epochs=3, preview=preview,
                       history=({"epoch": 3, "step": 9, "seconds": 1.0, "train": {"total": 0.5}, "val": None},))


# ------------------------------------------------------------------------------ the registry


def test_names_are_anonymous_unique_stable_and_seeded():
    board = ClassBoard(seed=0)
    jobs = [FakeJob() for _ in range(len(COLOURS) * len(ANIMALS) + 20)]  # more jobs than word pairs
    names = [board.register(job) for job in jobs]
    assert len(set(names)) == len(names)
    first = names[0].split()
    assert first[0] in COLOURS and first[1] in ANIMALS and len(first) == 2
    assert board.register(jobs[0]) == names[0] and board.name_of(jobs[0]) == names[0]  # registering again
    assert [entry.name for entry in board.entries()] == names
    same_seed, other_seed = ClassBoard(seed=0), ClassBoard(seed=1)
    assert [same_seed.register(job) for job in jobs[:5]] == names[:5]
    assert [other_seed.register(job) for job in jobs[:5]] != names[:5]
    assert board.name_of(FakeJob()) is None


def test_an_entry_leaves_the_board_when_its_job_is_garbage_collected():
    board = ClassBoard()
    kept, dropped = FakeJob(), FakeJob()
    board.register(kept)
    board.register(dropped)
    del dropped
    gc.collect()
    assert [entry.job for entry in board.entries()] == [kept]


def test_a_closed_sessions_run_lingers_then_leaves_with_its_copies(tmp_path):
    clock = Clock()
    board = ClassBoard(linger_s=60, clock=clock)
    job = FakeJob(JobSnapshot(status=FINISHED), SHIPPED)
    board.register(job)
    entry = board.entries()[0]
    copy = board.compare_copy(entry, SHIPPED, "x")
    board.retire(job)
    del job
    gc.collect()
    clock.now = 59
    assert [(e.name, e.ended) for e in board.entries()] == [(entry.name, True)]  # frozen, still there
    clock.now = 60
    assert board.entries() == [] and not copy.exists() and board.compare_runs() == []


def test_register_and_list_from_many_threads_at_once():
    board = ClassBoard()
    jobs = [[FakeJob() for _ in range(60)] for _ in range(8)]
    names: list[str] = []
    failures: list[BaseException] = []

    def session(mine: list[FakeJob]) -> None:
        try:
            for job in mine:
                names.append(board.register(job))
                board.set_shared(job, True)
                board.entries()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=session, args=(mine,)) for mine in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(names) == len(set(names)) == 480
    entries = board.entries()
    assert len(entries) == 480 and all(entry.shared for entry in entries)


def test_runs_on_own_images_are_shown_only_while_their_owner_shares_them():
    board = ClassBoard()
    own, mnist = FakeJob(_own_images_snapshot()), FakeJob(JobSnapshot(config=preset_config("ae")))
    for job in (own, mnist):
        board.register(job)

    def shown():
        return [entry.job for entry in board.entries() if entry.shown(entry.job.snapshot().config)]

    assert shown() == [mnist] and not board.is_shared(own)
    board.set_shared(own, True)
    assert shown() == [own, mnist] and board.is_shared(own)
    board.set_shared(own, False)
    assert shown() == [mnist]


def test_a_copy_for_compare_holds_the_model_without_the_optimiser_once_per_version(tmp_path):
    source = tmp_path / "parked"
    run = load_run(SHIPPED)
    checkpoints.save_run(source, config=run.config, model=run.model, history=run.history,
                         optimizer_state={"state": {}, "param_groups": []})
    own = FakeJob(_own_images_snapshot(), source)
    board = ClassBoard(max_copies=2)
    board.register(own)
    entry = board.entries()[0]
    copy = board.compare_copy(entry, source, "Blue Otter, epoch 3")
    assert copy.name == "blue-otter-epoch-3" and (copy / MODEL_FILE).exists() and not (copy / OPTIMIZER_FILE).exists()
    assert load_run(copy).history == run.history
    assert board.compare_copy(entry, source, "Blue Otter, epoch 3") == copy  # the same weights: the same copy
    assert board.label_of(copy) == "Blue Otter, epoch 3" and board.label_of(SHIPPED) is None
    assert board.compare_runs() == []  # runs on own images: not until shared
    board.set_shared(own, True)
    assert board.compare_runs() == [copy]
    for epoch in (4, 5):  # new weights each time; two copies at most
        os.utime(source / MODEL_FILE, (epoch, epoch))
        board.compare_copy(entry, source, f"Blue Otter, epoch {epoch}")
    assert not copy.exists() and [path.name for path in board.compare_runs()] == ["blue-otter-epoch-4",
                                                                                   "blue-otter-epoch-5"]


def test_status_texts():
    config = preset_config("ae")
    assert status_text(JobSnapshot(status=QUEUED, config=config, place_in_line=2)) == "queued (2 in line)"
    assert status_text(JobSnapshot(status=RUNNING, epoch=2, epochs=10)) == "running epoch 3 of 10"
    shared = JobSnapshot(status=RUNNING, epoch=2, epochs=10, watchers=4)
    assert status_text(shared) == "running epoch 3 of 10 · shared by 4"
    assert status_text(JobSnapshot(status=FINISHED, epoch=1, epochs=1), ended=True) == "finished 1 epoch · left"


# ------------------------------------------------------------------------------ the page


@pytest.fixture(autouse=True)
def user_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "USER_RUNS_DIR", tmp_path / "runs")


def _digits(config: DataConfig, device=None):
    return load_dataset(config, device or "cpu")


def _wait(job, predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate(job.snapshot()):
            return job.snapshot()
        time.sleep(0.05)
    raise AssertionError(f"timed out; last snapshot: {job.snapshot()}")


@pytest.fixture(scope="module")
def two_sessions(digits_pool):
    """Two sessions' jobs on the board, each trained for one epoch on the digits."""
    jobs = [TrainingJob(_digits, digits_pool) for _ in range(2)]
    for job, (latent, noise) in zip(jobs, ((2, 0.0), (3, 0.3)), strict=True):
        BOARD.register(job)
        job.start(preset_config("ae", dataset="digits", latent=latent, noise=noise, device="cpu", epochs=1))
    for job in jobs:
        _wait(job, lambda s: s.status == FINISHED)
    yield jobs
    for job in jobs:
        job.close()


def _board_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("views/board.py").run()
    assert not at.exception
    return at


def _table(at: AppTest, column: str) -> list[dict]:
    """The rows of the page's table that has ``column`` (the board's runs: "Train loss"; the challenge's: "#")."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value.to_dict("records")
    return []


def _rows(at: AppTest) -> dict[str, dict]:
    return {row["Name"]: row for row in _table(at, "Train loss")}


def test_the_board_shows_two_sessions_runs_and_opens_two_in_compare(two_sessions):
    at = _board_page()
    rows = _rows(at)
    names = [BOARD.name_of(job) for job in two_sessions]
    for job, name, latent, noise in zip(two_sessions, names, (2, 3), ("clean", "gaussian 0.3"), strict=True):
        row, record = rows[name], job.snapshot().history[-1]
        assert row["Status"] == "finished 1 epoch"
        assert (row["Preset"], row["Model"], row["Latent"], row["Noise"], row["β"], row["Dataset"], row["Epochs"]) == (
            "ae", "MLP AE", latent, noise, "—", "digits", 1)
        assert row["Train loss"] == pytest.approx(record["train"]["total"])
        assert row["Val loss"] == pytest.approx(record["val"]["total"])
        assert row["Reconstructions"].startswith("data:image/png;base64,")
    assert at.button(key="board_open").disabled  # nothing ticked yet

    order = list(rows)
    at.session_state["board_table_0"] = {"selection": {"rows": [order.index(n) for n in names], "columns": [],
                                                       "cells": []}}
    at.run()
    assert not at.button(key="board_open").disabled
    at.button(key="board_open").click().run()
    assert not at.exception
    left, right = at.selectbox(key="compare_left"), at.selectbox(key="compare_right")
    assert [Path(left.value), Path(right.value)] == [at.session_state[key] for key in ("compare_left", "compare_right")]
    assert [BOARD.label_of(Path(left.value)), BOARD.label_of(Path(right.value))] == [f"{n}, epoch 1" for n in names]
    assert load_run(left.value).model.latent_dim == 2 and load_run(right.value).model.latent_dim == 3


def test_an_own_images_run_is_on_the_board_only_while_shared():
    job = FakeJob(_own_images_snapshot())
    name = BOARD.register(job)
    assert name not in _rows(_board_page())
    BOARD.set_shared(job, True)
    row = _rows(_board_page())[name]
    assert row["Dataset"] == "own images" and "family-photos" not in str(row)
    BOARD.set_shared(job, False)
    assert name not in _rows(_board_page())


def _share_script():
    import streamlit as st

    from aecore.class_board import BOARD
    from aecore.ui.board import share_toggle
    from aecore.ui.identity import my_job

    share_toggle()
    st.markdown(f"shared: {BOARD.is_shared(my_job())}")


def test_the_share_toggle_shares_the_sessions_runs_on_own_images():
    at = AppTest.from_function(_share_script, default_timeout=TIMEOUT).run()
    assert not at.checkbox(key="board_share").value and at.markdown[0].value == "shared: False"
    at.checkbox(key="board_share").check().run()
    assert at.markdown[0].value == "shared: True"


# ------------------------------------------------------------------------------ the challenge


def _digits_run(latent: int, val_mse: float, epochs: int = 2) -> FakeJob:
    """A stopped run on the digits whose job reported ``val_mse`` as its last validation reconstruction loss."""
    images = np.linspace(0, 1, 3 * 64, dtype=np.float32).reshape(3, 1, 8, 8)
    preview = Preview(images, images, images, images, np.zeros(3), np.zeros(3), np.zeros((3, 2)), np.zeros(3))
    record = {"epoch": epochs, "step": 9, "seconds": 1.0, "train": {"total": 1.0},
              "val": {"total": val_mse * 64, "reconstruction": val_mse}}
    config = preset_config("ae", dataset="digits", latent=latent, epochs=epochs)
    return FakeJob(JobSnapshot(status=FINISHED, config=config, epoch=epochs, epochs=epochs, preview=preview,
                               history=(record,)))


@pytest.fixture
def challengers(monkeypatch):
    """Three runs on the board: two meet a "latent at most 2" challenge on the digits, one does not; the class's
    challenge is removed afterwards. A stopped run's background measures answer at once, without a worker process
    (tests/test_challenge.py tests them)."""
    from concurrent.futures import ThreadPoolExecutor

    from aecore.challenge import set_challenge
    from aecore.jobs.run_measures import Measured, RunMeasures
    from aecore.ui import challenge_view
    from aecore.ui.shared_resources import job_service

    measures = RunMeasures(lambda: ThreadPoolExecutor(1), lambda folder: Measured(None, None, "not measured here"))
    monkeypatch.setattr(challenge_view, "shared_measures", lambda: measures)

    jobs = {"good": _digits_run(2, 0.010), "fair": _digits_run(2, 0.020), "wide": _digits_run(8, 0.001)}
    names = {label: BOARD.register(job) for label, job in jobs.items()}
    yield jobs, names
    service = job_service()
    set_challenge(service.store, service.owner(service.teacher_key), None)


def test_the_teacher_sets_a_challenge_and_the_board_ranks_the_runs_that_meet_it(challengers):
    from aecore.challenge import load_challenge, psnr_from_mse
    from aecore.ui.presenter import PRESENT_KEY
    from aecore.ui.shared_resources import job_service

    _, names = challengers
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["teacher"] = job_service().teacher_key
    at.run()
    at.switch_page("views/board.py").run()
    assert not at.exception and not _table(at, "#")  # no challenge yet
    at.selectbox(key="board_challenge_measure").set_value("psnr")
    at.selectbox(key="board_challenge_dataset").set_value("digits")
    at.number_input(key="board_challenge_latent").set_value(2)
    at.number_input(key="board_challenge_epochs").set_value(5)
    at.multiselect(key="board_challenge_models").set_value(["MLP AE"])
    at.number_input(key="board_challenge_minutes").set_value(30)
    at.button(key="board_challenge_set").click().run()
    assert not at.exception
    challenge = load_challenge(job_service().store)  # a class setting, in the class's database
    assert (challenge.measure, challenge.dataset, challenge.max_latent, challenge.max_epochs, challenge.models) == (
        "psnr", "digits", 2, 5, ("MLP AE",))
    assert 29 * 60 < challenge.ends_at - time.time() <= 30 * 60

    ranking = {row["Name"]: row for row in _table(at, "#")}
    good, fair = ranking[names["good"]], ranking[names["fair"]]
    assert 0 < int(good["#"]) < int(fair["#"]) and names["wide"] not in ranking
    assert good["PSNR (dB)"] == f"{psnr_from_mse(0.010):.2f}" and good["Measured on"] == "validation"
    assert good["Reconstructions"].startswith("data:image/png;base64,") and good["Status"] == "stopped"
    assert (good["Preset"], good["Model"], good["Latent"], good["Noise"], good["Dataset"], good["Epochs"]) == (
        "ae", "MLP AE", 2, "clean", "digits", 2)
    apart = {row["Name"]: row["Out because"] for row in _table(at, "Out because")}
    assert apart[names["wide"]] == "latent size 8 > 2"
    assert [button.proto.label for button in at.get("download_button")] == ["Download the ranking (CSV)"]
    assert _rows(at)  # the table of every run stays under the ranking

    at.button(key="board_challenge_present").click().run()  # on the projector: the ranking, large, alone
    assert not at.exception and at.session_state[PRESENT_KEY] is True
    assert names["good"] in {row["Name"] for row in _table(at, "#")} and not _rows(at)
    at.button(key="board_challenge_end").click().run()
    assert not at.exception and load_challenge(job_service().store).ended()
    assert "the final ranking" in " ".join(caption.value for caption in at.caption)


def test_a_student_sees_the_ranking_with_their_own_run_marked_and_cannot_set_it(challengers):
    from aecore.challenge import Challenge, set_challenge
    from aecore.errors import AecoreError
    from aecore.ui.shared_resources import job_service

    _, names = challengers
    service = job_service()
    set_challenge(service.store, service.owner(service.teacher_key),
                  Challenge("test_mse", "digits", 2, 5, (), time.time() + 600))
    at = _board_page()
    student = service.owner(at.session_state["_browser_key"])
    assert not student.is_teacher
    keys = {widget.key for widget in (*at.button, *at.selectbox, *at.number_input)}
    assert not {f"board_challenge_{name}" for name in ("set", "end", "present", "measure", "minutes")} & keys
    assert not at.get("download_button")
    with pytest.raises(AecoreError, match="only the teacher"):
        set_challenge(service.store, student, None)

    own = service.job_for(student)  # the student's run, as if it had trained 2 epochs to a validation MSE of 0.015
    own._snapshot = _digits_run(2, 0.015).snapshot()
    try:
        at.run()
        ranking = [row["Name"] for row in _table(at, "#")]
        mine = f"{BOARD.name_of(own)} (you)"
        assert mine in ranking and names["good"] in ranking
        assert ranking.index(names["good"]) < ranking.index(mine) < ranking.index(names["fair"])
    finally:
        own._snapshot = JobSnapshot()
