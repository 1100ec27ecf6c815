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


def _rows(at: AppTest) -> dict[str, dict]:
    if not at.dataframe:
        return {}
    return {row["Name"]: row for row in at.dataframe[0].value.to_dict("records")}


def test_the_board_shows_two_sessions_runs_and_opens_two_in_compare(two_sessions):
    at = _board_page()
    rows = _rows(at)
    names = [BOARD.name_of(job) for job in two_sessions]
    for job, name, latent, noise in zip(two_sessions, names, (2, 3), ("clean", "gaussian 0.3"), strict=True):
        row, record = rows[name], job.snapshot().history[-1]
        assert row["Status"] == "finished 1 epoch"
        assert (row["Preset"], row["Model"], row["Latent"], row["Noise"], row["β"], row["Dataset"], row["Epochs"]) == (
            "ae", "mlp AE", latent, noise, "—", "digits", 1)
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
