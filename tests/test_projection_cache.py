"""t-SNE and UMAP maps off the page: frames as the layout converges, the disk cache every session and the CLI
share, the background jobs (one per map, stoppable), and the Explore page that shows a PCA map meanwhile."""

import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from streamlit.testing.v1 import AppTest

from aecore import checkpoints, projection_cache
from aecore.checkpoints import MODEL_FILE, PRETRAINED_DIR
from aecore.jobs import pool as job_pools
from aecore.jobs import projection_work
from aecore.jobs.projection_work import Done, Failed, ProjectionRequest, Projections, compute_map, status_line
from aecore.projection import TSNE_ITERATIONS, UMAP_EPOCHS, Frame, StoppedError, project
from aecore.projection_cache import ProjectionKey

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 120  # a limit for a background job to reach a state, never a measure of speed


@pytest.fixture(autouse=True)
def cache_folder(tmp_path, monkeypatch):
    """Every test gets its own empty projection cache."""
    folder = tmp_path / "projections"
    monkeypatch.setenv(projection_cache.CACHE_DIR_ENV, str(folder))
    return folder


@pytest.fixture
def run_folder(tmp_path):
    """A run folder as far as the cache cares: a weights file with a modification time."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / MODEL_FILE).write_bytes(b"weights")
    os.utime(folder / MODEL_FILE, (1_000_000, 1_000_000))
    return folder


@pytest.fixture(scope="module")
def digit_codes():
    """300 of sklearn's 8x8 digits (64 numbers each) and their labels: real clusters, small."""
    digits = load_digits()
    return digits.data[:300].astype(np.float32) / 16.0, digits.target[:300]


def _key(folder, method="tsne", points="test:300/300:seed0", count=300, **settings) -> ProjectionKey:
    return ProjectionKey.of(folder, method, points, count, **settings)


def _wait(job, states: tuple[str, ...], timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = job.status()
        if status.state in states:
            return status
        time.sleep(0.05)
    raise AssertionError(f"the job stayed {job.status().state!r}, never {states}")


def _ended(process) -> int:
    """The exit code of a job's process once it has ended (its job's reader thread reaps it: no join here)."""
    deadline = time.monotonic() + WAIT_S
    while process.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    return process.exitcode


# ------------------------------------------------------------------------------------------ the disk cache


def test_a_saved_map_loads_back_only_under_its_own_key(run_folder):
    points = np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32)
    key = _key(run_folder, perplexity=30)
    path = projection_cache.save(key, points)
    assert path.parent == projection_cache.cache_dir() and path.suffix == ".npz"
    np.testing.assert_array_equal(projection_cache.load(key), points)
    assert projection_cache.load(_key(run_folder, perplexity=30.0)) is not None  # the same setting, as a float
    others = [_key(run_folder, perplexity=20), _key(run_folder, "umap"), _key(run_folder, seed=1),
              _key(run_folder, points="all:300/300:seed0"), _key(run_folder, points="test:299/300:seed0", count=299)]
    for other in others:
        assert projection_cache.load(other) is None, other
    with np.load(path, allow_pickle=False) as stored:  # plain arrays: loads without pickle
        assert json.loads(str(stored["key"]))["method"] == "tsne"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_retrained_weights_invalidate_the_run_s_maps(run_folder):
    key = _key(run_folder)
    projection_cache.save(key, np.zeros((300, 2)))
    os.utime(run_folder / MODEL_FILE, (2_000_000, 2_000_000))  # the run was saved over
    retrained = _key(run_folder)
    assert retrained != key and projection_cache.load(retrained) is None


def test_a_file_that_is_not_the_key_s_whole_map_is_a_miss(run_folder):
    key = _key(run_folder)
    path = projection_cache.path_of(key)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 cut short by a crash")
    assert projection_cache.load(key) is None
    other = _key(run_folder, "umap")
    np.savez(path, points=np.zeros((300, 2), np.float32), key=np.array(other.text()))  # another key's map
    assert projection_cache.load(key) is None
    with pytest.raises(ValueError, match="shape"):
        projection_cache.save(key, np.zeros((10, 2)))


def test_only_the_most_recently_used_maps_are_kept(run_folder, monkeypatch):
    monkeypatch.setattr(projection_cache, "MAX_FILES", 2)
    keys = [_key(run_folder, seed=seed) for seed in range(3)]
    for age, key in enumerate(keys[:2]):
        path = projection_cache.save(key, np.zeros((300, 2)))
        os.utime(path, (1000 + age, 1000 + age))  # written long ago, the first one first
    projection_cache.load(keys[0])  # used again: now the most recent
    projection_cache.save(keys[2], np.zeros((300, 2)))  # a third map: the least recently used one goes
    assert [projection_cache.load(key) is not None for key in keys] == [True, False, True]


# ------------------------------------------------------------------------------------------ frames


def test_t_sne_sends_frames_as_it_converges_and_stops_when_asked(digit_codes):
    codes, _ = digit_codes
    frames: list[Frame] = []
    final = project(codes, "tsne", progress=frames.append)
    assert frames[0].stage == "neighbours" and frames[0].points is None
    layout = [frame for frame in frames if frame.stage == "layout"]
    assert [frame.done for frame in layout] == list(range(25, sum(TSNE_ITERATIONS) + 1, 25))
    assert all(frame.points.shape == (300, 2) and frame.total == sum(TSNE_ITERATIONS) for frame in layout)
    assert not np.allclose(layout[0].points, layout[-1].points)  # the layout moved
    assert final.points.shape == (300, 2)
    seen: list[Frame] = []
    with pytest.raises(StoppedError) as stopped:
        project(codes, "tsne", progress=lambda frame: seen.append(frame) or len(seen) == 3)
    assert stopped.value.frame.done == 50 and len(seen) == 3


def test_umap_sends_a_frame_every_ten_epochs_and_stops_when_asked(digit_codes):
    codes, _ = digit_codes
    frames: list[Frame] = []
    project(codes, "umap", progress=frames.append)
    assert [frame.done for frame in frames if frame.stage == "layout"] == list(range(0, UMAP_EPOCHS, 10))
    assert frames[-1].points.shape == (300, 2) and not np.allclose(frames[1].points, frames[-1].points)
    with pytest.raises(StoppedError) as stopped:
        project(codes, "umap", progress=lambda frame: frame.done >= 20)
    assert stopped.value.frame.done == 20
    assert project(codes, "umap").points.shape == (300, 2)  # a fit without progress is umap-learn's own


def test_a_worker_s_computation_sends_frames_then_the_stored_map(run_folder, digit_codes):
    codes, _ = digit_codes
    key = _key(run_folder)
    sent = []
    compute_map(ProjectionRequest(key, codes), sent.append)
    assert isinstance(sent[-1], Done) and all(isinstance(message, Frame) for message in sent[:-1])
    assert sum(message.stage == "layout" for message in sent[:-1]) > 5
    np.testing.assert_array_equal(projection_cache.load(key), sent[-1].points)
    sent.clear()
    compute_map(ProjectionRequest(_key(run_folder, "umap"), codes[:, :0]), sent.append)  # codes of no numbers
    assert isinstance(sent[-1], Failed) and sent[-1].message.startswith("UMAP failed")


# ------------------------------------------------------------------------------------------ background jobs


@pytest.fixture
def projections():
    jobs = Projections(max_running=1)
    yield jobs
    jobs.shutdown()


def test_a_background_map_is_computed_once_for_every_session_and_cached(projections, run_folder, digit_codes):
    codes, _ = digit_codes
    key = _key(run_folder)
    jobs = {projections.request(key, codes, watcher=f"student {i}") for i in range(30)}
    assert len(jobs) == 1  # thirty students, one job
    job = jobs.pop()
    assert job.status().state in ("running", "finished") and job.process is not None
    seen = [job.status()]
    while not seen[-1].final:
        seen.append(job.status())
        time.sleep(0.02)
    assert seen[-1].state == "finished" and seen[-1].points.shape == (300, 2)
    np.testing.assert_array_equal(projection_cache.load(key), seen[-1].points)
    assert _ended(job.process) == 0
    restarted = Projections()  # the next server process: the map is there at once, no worker started
    again = restarted.request(key, codes)
    assert again.status().state == "finished" and again.process is None
    assert status_line("tsne", again.status()) == "t-SNE map"


def test_a_spare_worker_waits_for_the_next_map_and_a_dead_one_is_replaced(projections, run_folder, digit_codes):
    codes, _ = digit_codes
    before = set(multiprocessing.active_children())
    projections.warm_up()
    (spare,) = set(multiprocessing.active_children()) - before
    job = projections.request(_key(run_folder), codes)
    assert job.process is spare  # the worker that was ready took the map
    assert _wait(job, ("finished",)).points.shape == (300, 2)
    deadline = time.monotonic() + WAIT_S  # a map was computed: a new spare is started for the next one
    while not (set(multiprocessing.active_children()) - before - {spare}) and time.monotonic() < deadline:
        time.sleep(0.05)
    (next_spare,) = set(multiprocessing.active_children()) - before - {spare}
    next_spare.kill()  # a spare that died meanwhile is not handed the next map
    assert _ended(next_spare) != 0
    other = projections.request(_key(run_folder, "umap"), codes)
    assert other.process is not next_spare and _wait(other, ("finished",)).points.shape == (300, 2)


def test_a_running_map_publishes_frames_and_stops_when_its_last_watcher_stops(projections, run_folder):
    codes = np.random.default_rng(0).normal(size=(4000, 16)).astype(np.float32)  # tens of seconds of t-SNE
    key = _key(run_folder, points="test:4000/4000:seed0", count=4000)
    job = projections.request(key, codes, watcher="a")
    assert projections.request(key, codes, watcher="b") is job
    status = job.status()
    deadline = time.monotonic() + WAIT_S
    while status.points is None and time.monotonic() < deadline:  # the first frame of the layout
        time.sleep(0.05)
        status = job.status()
    assert status.state == "running" and status.stage == "layout" and status.points.shape == (4000, 2)
    assert 0 < status.done < status.total and "iterations, the layout so far" in status_line("tsne", status)
    assert not projections.stop(key, "a") and job.status().state == "running"  # b still watches it
    assert projections.stop(key, "b")
    assert job.status().state == "stopped" and "stopped after" in status_line("tsne", job.status())
    assert _ended(job.process) != 0  # killed
    assert projection_cache.load(key) is None  # only finished maps are stored
    assert projections.request(key, codes).status().state == "running"  # asked for again: a fresh job


def test_a_waiting_map_leaves_the_line_when_stopped(projections, run_folder):
    big = np.random.default_rng(1).normal(size=(4000, 16)).astype(np.float32)
    first = projections.request(_key(run_folder, points="test:4000/4000:seed0", count=4000), big)
    second_key = _key(run_folder, "umap")
    second = projections.request(second_key, big[:300])
    assert second.status().state == "waiting" and second.status().place == 1
    assert "waits for a free worker (1 in line)" in status_line("umap", second.status())
    assert projections.stop(second_key)
    assert second.status().state == "stopped" and second.process is None
    assert first.status().state == "running"


def test_a_worker_that_dies_fails_its_job_and_frees_its_slot(projections, run_folder, digit_codes):
    codes, _ = digit_codes
    big = np.random.default_rng(2).normal(size=(4000, 16)).astype(np.float32)
    doomed = projections.request(_key(run_folder, points="test:4000/4000:seed0", count=4000), big)
    after = projections.request(_key(run_folder), codes)
    _wait(doomed, ("running",))
    doomed.process.kill()  # as the out-of-memory killer would
    assert _wait(doomed, ("failed",)).message == projection_work.WORKER_DIED
    assert _wait(after, ("finished",)).points.shape == (300, 2)
    assert projections.request(doomed.key, big) is doomed  # a failed map is not retried at every page rerun...
    projections.clear(doomed.key)  # ... but when asked to ("Compute again")
    assert projections.request(doomed.key, big) is not doomed


def test_no_worker_or_spare_is_started_while_the_process_ends(projections, run_folder, monkeypatch):
    """At exit multiprocessing ends the workers: a map's end used to start a spare then, whose start failed with a
    traceback (EOFError) at the end of the test run's output."""
    monkeypatch.setattr(job_pools, "_EXITING", threading.Event())
    big = np.random.default_rng(3).normal(size=(4000, 16)).astype(np.float32)
    running = projections.request(_key(run_folder, points="test:4000/4000:seed0", count=4000), big)
    waiting = projections.request(_key(run_folder, "umap"), big[:300])
    _wait(running, ("running",))
    job_pools._EXITING.set()
    running.process.kill()
    assert _wait(running, ("failed",)).message == projection_work.WORKER_DIED
    for thread in threading.enumerate():
        if thread.name == "aecore-projection-messages":
            thread.join(10)  # the dead worker's has freed its slot
    assert waiting.status().state == "waiting" and waiting.process is None and projections._spare is None


# ------------------------------------------------------------------------------------------ the Explore page


@pytest.fixture
def page_projections(monkeypatch, tmp_path):
    """The app's shared projection jobs, fresh for one test (and runs saved by it out of the project)."""
    monkeypatch.setattr(checkpoints, "USER_RUNS_DIR", tmp_path / "runs")
    jobs = Projections(max_running=1)
    monkeypatch.setattr(projection_work, "_projections", jobs)
    yield jobs
    jobs.shutdown()


def _explore(**choices) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=WAIT_S).run()
    at.switch_page("views/explore.py").run()
    for key, value in choices.items():
        widget = next(w for w in at.get("radio") + at.get("select_slider") if w.key == key)
        widget.set_value(value).run()
    assert not at.exception, at.exception
    return at


def _axis_title(at: AppTest) -> str:
    return json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["xaxis"]["title"]["text"]


def _progress_text(at: AppTest) -> str:
    return " ".join(bar.proto.text for bar in at.get("progress"))


def _shipped_key(method: str, points: str, count: int) -> ProjectionKey:
    return ProjectionKey.of(PRETRAINED_DIR / "mnist-ae-latent2", method, points, count)  # the page's first run


def test_the_explore_page_shows_a_pca_map_at_once_while_t_sne_runs_and_stops_it(page_projections):
    at = _explore(explore_split="all", explore_cap_all=70_000, explore_mode="tsne")  # minutes of t-SNE
    assert _axis_title(at) == "PCA 1"
    assert "t-SNE" in _progress_text(at) and "PCA map meanwhile" in _progress_text(at)
    assert any("70,000 of 70,000 train + test images" in c.value for c in at.caption)
    job = page_projections.job(_shipped_key("tsne", "all:70000/70000:seed0", 70_000))
    assert job.status().state == "running"
    at.button(key="explore_stop").click().run()
    assert not at.exception
    assert job.status().state == "stopped"
    assert at.button(key="explore_restart").label == "Compute t-SNE again" and not at.get("progress")
    assert _axis_title(at) == "PCA 1"
    at.run()  # the page does not start it again on its own
    assert job.status().state == "stopped"
    at.button(key="explore_restart").click().run()
    assert page_projections.job(job.key).status().state == "running" and at.get("progress")


def test_the_explore_page_shows_the_t_sne_map_when_its_job_has_finished(page_projections):
    at = _explore(explore_cap_test=500, explore_mode="tsne")
    deadline = time.monotonic() + WAIT_S
    while (at.get("progress") or _axis_title(at) != "t-SNE 1") and time.monotonic() < deadline:  # its layouts too
        time.sleep(0.5)
        at.run()  # what the polling fragment does every second in a browser
    assert _axis_title(at) == "t-SNE 1" and not at.get("progress") and not at.exception
    assert projection_cache.load(_shipped_key("tsne", "test:500/10000:seed0", 500)) is not None
    fresh = _explore(explore_cap_test=500, explore_mode="tsne")  # another session: from the cache at once
    assert _axis_title(fresh) == "t-SNE 1" and not fresh.get("progress")


def test_a_map_in_the_cache_is_shown_at_once_and_its_points_can_be_picked(page_projections):
    key = _shipped_key("umap", "test:2000/10000:seed0", 2000)
    projection_cache.save(key, np.random.default_rng(0).normal(size=(2000, 2)))  # e.g. from `aecore export`
    at = _explore(explore_mode="umap")
    assert _axis_title(at) == "UMAP 1" and not at.get("progress") and page_projections.job(key) is None
    at.session_state["explore_map"] = {"selection": {
        "points": [{"curve_number": 1, "point_number": 3, "point_index": 3, "x": 0.0, "y": 0.0}],
        "point_indices": [3], "box": [], "lasso": []}}
    at.run()
    assert any((e.proto.imgs[0].caption or "").startswith("test image ") for e in at.get("image") if e.proto.imgs)


def test_asking_for_a_map_never_waits_for_a_new_worker_to_read_it(projections, run_folder, digit_codes, monkeypatch):
    """A worker just spawned reads its request only once its imports are done (2-3 s): the request is sent from
    the job's own thread, so the page that asked returns at once (a first map used to take 2.65 s)."""
    class SlowToRead:  # the server's end of a pipe whose worker is still importing
        def __init__(self):
            self.read = threading.Event()

        def send(self, request):
            self.read.wait(30)

        def recv(self):
            raise EOFError

        def close(self):
            pass

    class Process:
        def join(self, timeout=None):
            pass

        def is_alive(self):
            return False

        def kill(self):
            pass

    pipe = SlowToRead()
    monkeypatch.setattr(projections, "_spawn", lambda: (Process(), pipe))
    started = time.monotonic()
    job = projections.request(_key(run_folder), digit_codes[0])
    assert time.monotonic() - started < 5 and job.status().state == "running"
    pipe.read.set()  # the worker reads it, then (here) exits without a map
    assert _wait(job, ("failed",)).message == projection_work.WORKER_DIED
