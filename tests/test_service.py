"""The job service, its SQLite index and exact resumes: what keeps a student's work through reloads and restarts."""

import json
import logging
import threading

import pytest

from aecore.checkpoints import load_run
from aecore.config import DataConfig
from aecore.data import load_dataset
from aecore.events import Step
from aecore.jobs import FINISHED, JobError
from aecore.jobs.service import STUDENT, TEACHER, ClassLimits, JobService, key_hash, new_key
from aecore.jobs.store import ClassStore, OwnerRow, RunRow, open_store
from aecore.presets import preset_config
from aecore.training import TrainingState, fit


def _digits(config: DataConfig, device=None):
    return load_dataset(config)


def _config(epochs: int = 2, preset: str = "ae"):
    return preset_config(preset, dataset="digits", epochs=epochs)


@pytest.fixture
def service(tmp_path, digits_pool):
    return JobService(tmp_path / "class", _digits, digits_pool, board=_board())


def _board():
    from aecore.class_board import ClassBoard

    return ClassBoard()


@pytest.mark.parametrize("preset", ["vae", "denoising-ae"])
def test_a_run_stopped_and_resumed_mid_epoch_gives_the_same_losses(preset, tmp_path):
    config = _config(2, preset)  # a VAE samples from torch's generator, a denoising AE from its own
    data = load_dataset(config.data)
    unbroken = [e.losses for e in fit(TrainingState.create(config, data.input_shape), data) if isinstance(e, Step)]
    state, stop, losses = TrainingState.create(config, data.input_shape), threading.Event(), []
    for event in fit(state, data, stop=stop):
        if isinstance(event, Step):
            losses.append(event.losses)
            if len(losses) == 15:  # 11 steps an epoch: inside epoch 2
                stop.set()
    assert state.batch == 4 and state.epoch == 1
    state.save(tmp_path / "stopped")
    resumed = TrainingState.from_run(load_run(tmp_path / "stopped"))
    assert resumed.batch == 4
    losses += [e.losses for e in fit(resumed, data) if isinstance(e, Step)]
    assert losses == unbroken


def test_owners_are_told_apart_by_their_keys_and_the_teacher_by_the_server_key(service):
    first, second = service.owner(new_key()), service.owner(new_key())
    assert service.job_for(first) is not service.job_for(second)
    assert (first.role, service.owner(service.teacher_key).role) == (STUDENT, TEACHER)
    with pytest.raises(JobError):
        service.owner("short")
    assert first.board_name and first.board_name != second.board_name
    stored = {row.key_hash for row in service.store.owners()}
    assert stored == {first.key_hash, second.key_hash, key_hash(service.teacher_key)}  # hashes only


def test_a_finished_run_and_a_running_one_come_back_after_a_restart(service, tmp_path, digits_pool):
    key, other = new_key(), new_key()
    job = service.job_for(service.owner(key))
    job.start(_config(3))
    assert job.join(timeout=120) and job.snapshot().status == FINISHED
    interrupted = service.job_for(service.owner(other))
    interrupted.start(_config(2))
    assert interrupted.join(timeout=120)
    record = json.loads((interrupted.folder / "job.json").read_text())
    (interrupted.folder / "job.json").write_text(json.dumps({**record, "status": "running", "epochs": 4}))

    restarted = JobService(tmp_path / "class", _digits, digits_pool, board=_board())  # what a kill -9 leaves
    again = restarted.job_for(restarted.owner(key)).snapshot()
    assert (again.status, again.epoch, len(again.history)) == (FINISHED, 3, 3)
    assert [y for _, y in again.step_losses] == [y for _, y in job.snapshot().step_losses]  # the whole curve
    assert again.message.startswith("Finished 3 epochs")
    going_on = restarted.job_for(restarted.owner(other))
    assert going_on.join(timeout=120)
    assert (going_on.snapshot().status, going_on.snapshot().epoch) == (FINISHED, 4)  # from its checkpoint to 4
    assert restarted.job_for(restarted.owner(key)).snapshot().config == job.snapshot().config


def test_a_corrupt_database_is_rebuilt_and_a_corrupt_run_folder_skipped(service, tmp_path, digits_pool, caplog):
    owner = service.owner(new_key())
    service.job_for(owner).start(_config(1))
    assert service.job_for(owner).join(timeout=120)
    broken = tmp_path / "class" / "runs" / "not-a-run"
    broken.mkdir()
    (broken / "owner.json").write_text("{")
    service.shutdown()
    (tmp_path / "class" / "class.db").write_bytes(b"garbage" * 100)
    with caplog.at_level(logging.INFO):
        rebuilt = JobService(tmp_path / "class", _digits, digits_pool, board=_board())
    assert rebuilt.job_for(owner).snapshot().status == FINISHED
    assert [row.owner for row in rebuilt.store.runs()] == [owner.key_hash]
    assert sum("skipped the run folder not-a-run" in r.message for r in caplog.records) == 1
    assert any("rebuilt" in r.getMessage() for r in caplog.records)
    assert list((tmp_path / "class").glob("class.db.corrupt-*"))


def test_quotas_refuse_a_start_with_a_message_and_the_class_quota_evicts_idle_runs(tmp_path, digits_pool):
    service = JobService(tmp_path / "class", _digits, digits_pool, board=_board(), student_quota_mb=0.001)
    idle, busy = service.owner(new_key()), service.owner(new_key())
    service.job_for(idle).start(_config(1))  # the first run fits: nothing of this owner's is on disk yet
    assert service.job_for(idle).join(timeout=120) and (service.job_for(idle).folder / "state").is_dir()
    (service.job_for(busy).folder / "kept.bin").write_bytes(b"x" * 5000)  # 5 kB kept against a 1 kB quota
    with pytest.raises(JobError, match="of your 0 MB"):
        service.job_for(busy).start(_config(1))
    with pytest.raises(JobError, match="no room for images"):
        service.check_upload_room(busy)

    service.student_quota_bytes, service.class_quota_bytes = 10**9, 100_000  # over by idle's run: it goes
    service.job_for(busy).start(_config(1))
    assert service.job_for(busy).join(timeout=120)
    assert not (service.job_for(idle).folder / "state").exists()


def test_an_owner_gone_for_the_retention_period_is_removed_unless_training(tmp_path, digits_pool):
    now = [1000.0]
    service = JobService(tmp_path / "class", _digits, digits_pool, board=_board(), retention_s=3600,
                         clock=lambda: now[0])
    owner = service.owner(new_key())
    service.job_for(owner).start(_config(1))
    assert service.job_for(owner).join(timeout=120)
    service.upload_folder(owner)
    now[0] += 1800
    assert service.sweep() == []
    now[0] += 3600
    assert service.sweep() == [owner.board_name]
    assert not any((tmp_path / "class" / "runs").iterdir()) and not any((tmp_path / "class" / "uploads").iterdir())
    assert service.store.owners() == []


def test_the_store_indexes_owners_runs_and_saved_runs(tmp_path):
    store, fresh = open_store(tmp_path / "class.db")
    assert fresh
    store.put_owner(OwnerRow("h1", STUDENT, "Blue Otter", False, 1.0, 1.0))
    store.put_run(RunRow("/runs/a", "h1", "running", None, 1, 5, 11, 2.0))
    store.put_run(RunRow("/runs/b", "h1", "finished", None, 5, 5, 55, 1.0))
    store.add_saved("/saved/x", "h1")
    store.set_shared("h1", True)
    assert store.owner("h1").shared and store.owner("nobody") is None
    assert [run.folder for run in store.runs("h1")] == ["/runs/b", "/runs/a"]  # least recently updated first
    assert [run.folder for run in store.queue()] == ["/runs/a"]
    assert store.saved("h1") == ["/saved/x"]
    store.close()
    again, fresh = open_store(tmp_path / "class.db")
    assert not fresh and again.owner("h1").board_name == "Blue Otter"
    assert again._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.forget_owner("h1")
    assert again.owners() == [] and again.runs() == [] and again.saved() == []
    assert isinstance(again, ClassStore)


def test_class_limits_hold_for_students_and_only_the_teacher_changes_them(service):
    student, teacher = service.owner(new_key()), service.owner(service.teacher_key)
    with pytest.raises(JobError, match="only the teacher"):
        service.set_limits(student, ClassLimits(max_epochs=2))
    service.set_limits(teacher, ClassLimits(max_epochs=2))
    assert service.limits().max_epochs == 2
    with pytest.raises(JobError, match="at most 2 epochs"):
        service.job_for(student).start(_config(3))
    service.job_for(teacher).start(_config(3))  # the teacher's own runs are not limited
    assert service.job_for(teacher).join(timeout=120) and service.job_for(teacher).snapshot().epoch == 3
    assert service.job_for(teacher).priority == 1 and service.job_for(student).priority == 0
    with pytest.raises(JobError, match="between 1 and"):
        service.set_limits(teacher, ClassLimits(max_epochs=0))
