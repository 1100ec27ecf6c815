"""The map of a folder's codes under a session's model (Your images): the codes of every split, sampled, read a
batch at a time (streamed folders too); t-SNE and UMAP maps keyed by the codes themselves, computed in the
background while the page shows PCA, cached on disk; the page's map with its live layout, Stop, picks and hover."""

import base64
import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from drawn_images import drawn_folder
from PIL import Image
from streamlit.testing.v1 import AppTest

from aecore import checkpoints, image_stream, projection_cache
from aecore.data import load_dataset
from aecore.folder_map import encode_folder_points, folder_image_count, point_files, point_pixels
from aecore.image_stream import MEMORY_BUDGET_ENV
from aecore.jobs import projection_work
from aecore.jobs.projection_work import Projections, current_map
from aecore.latent import encode_images
from aecore.models import build_model
from aecore.pixels import to_pixels
from aecore.projection import project
from aecore.projection_cache import ProjectionKey, codes_digest
from aecore.uploads import IMAGE_ROOTS_ENV, folder_run_config

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 120  # a limit for a background job or a training run to reach a state, never a measure of speed
PER_CLASS = 16  # 48 images


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A folder of three classes of 16 small drawn images each."""
    return drawn_folder(tmp_path_factory.mktemp("shapes") / "shapes", PER_CLASS)


@pytest.fixture(autouse=True)
def caches(tmp_path, monkeypatch):
    """Each test gets its own empty map and image caches, and runs saved out of the project."""
    monkeypatch.setenv(projection_cache.CACHE_DIR_ENV, str(tmp_path / "projections"))
    monkeypatch.setenv(image_stream.CACHE_DIR_ENV, str(tmp_path / "images"))
    monkeypatch.setattr(checkpoints, "USER_RUNS_DIR", tmp_path / "runs")
    return tmp_path / "projections"


@pytest.fixture
def projections(monkeypatch):
    """The server's shared projection jobs, fresh for one test."""
    jobs = Projections(max_running=1, spare=False)
    monkeypatch.setattr(projection_work, "_projections", jobs)
    yield jobs
    jobs.shutdown()


def _config(folder: Path):
    return folder_run_config(folder, image_size=32, color="rgb", latent=6, test_fraction=0.25, variational=False)


def _data(folder: Path):
    return load_dataset(_config(folder).data)


def _model(data):
    torch.manual_seed(0)
    return build_model(_config(Path("unused")).model, data.input_shape).eval()


def _wait(job, states: tuple[str, ...]):
    deadline = time.monotonic() + WAIT_S
    while job.status().state not in states and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status().state in states, job.status()
    return job.status()


# ------------------------------------------------------------------------------------------ codes and images


def test_a_folder_s_map_holds_every_split_or_a_sample_with_each_point_s_file_and_image(folder):
    data = _data(folder)
    model = _model(data)
    assert folder_image_count(data) == 48 == len(data.train) + len(data.val) + len(data.test)
    everything = encode_folder_points(model, data)
    assert len(everything) == 48 and set(everything.splits.tolist()) == {0, 1, 2}  # test, train, val
    test = everything.splits == 0
    np.testing.assert_allclose(everything.codes[test], encode_images(model, data.test.x[everything.indices[test]]),
                               rtol=1e-5, atol=1e-6)
    files = point_files(data, everything)
    assert len(set(files)) == 48 and all(f.split(":")[0] in ("test", "train", "val") for f in files)
    row = int(np.flatnonzero(everything.splits == 1)[2])  # a training image
    assert files[row] == f"train:{data.train.names[everything.indices[row]]}"
    np.testing.assert_array_equal(point_pixels(data, everything, [row, 0]),
                                  to_pixels(data.normalizer, torch.stack([data.train.x[everything.indices[row]],
                                                                          data.test.x[everything.indices[0]]])))
    sample = encode_folder_points(model, data, cap=20)
    assert len(sample) == 20 and sample.selection == "all:20/48:seed0"
    assert encode_folder_points(model, data, cap=20).selection == sample.selection  # the same sample again
    np.testing.assert_array_equal(encode_folder_points(model, data, cap=20).indices, sample.indices)


def test_a_streamed_folder_gives_the_same_codes_read_a_batch_at_a_time(folder, monkeypatch):
    in_memory = _data(folder)
    model = _model(in_memory)
    monkeypatch.setattr("aecore.folder_map.READ_BATCH", 7)  # several batches per split
    monkeypatch.setenv(MEMORY_BUDGET_ENV, "0.001")
    streamed = _data(folder)
    assert streamed.loading.startswith("Streamed: ")
    ours, theirs = encode_folder_points(model, streamed, cap=30), encode_folder_points(model, in_memory, cap=30)
    np.testing.assert_allclose(ours.codes, theirs.codes, rtol=1e-5, atol=1e-6)
    assert point_files(streamed, ours) == point_files(in_memory, theirs)


# ------------------------------------------------------------------------------------------ keyed by the codes


def test_a_map_of_codes_is_keyed_by_every_bit_of_them_the_method_and_its_parameters():
    codes = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    key = ProjectionKey.of_codes(codes, "tsne")
    assert key == ProjectionKey.of_codes(codes.astype(np.float64), "tsne")  # the same float32 codes
    assert key == ProjectionKey.of_codes(codes, "tsne", digest=codes_digest(codes))
    nudged = codes.copy()
    nudged[7, 3] = np.nextafter(nudged[7, 3], np.float32(np.inf))
    assert ProjectionKey.of_codes(nudged, "tsne") != key
    assert ProjectionKey.of_codes(codes.reshape(100, 4), "tsne") != ProjectionKey.of_codes(codes, "tsne")
    assert ProjectionKey.of_codes(codes, "umap") != key
    assert ProjectionKey.of_codes(codes, "tsne", perplexity=5) != key
    assert key.count == 50 and key.file_name().startswith("codes-tsne-50-")
    points = np.random.default_rng(1).normal(size=(50, 2)).astype(np.float32)
    projection_cache.save(key, points)
    np.testing.assert_array_equal(projection_cache.load(ProjectionKey.of_codes(codes.copy(), "tsne")), points)
    assert projection_cache.load(ProjectionKey.of_codes(nudged, "tsne")) is None


def test_the_current_map_is_pca_until_the_background_map_is_done_then_cached_for_everyone(projections):
    codes = np.random.default_rng(0).normal(size=(120, 8)).astype(np.float32)
    pca = project(codes, "pca")
    key = ProjectionKey.of_codes(codes, "umap")
    first = current_map(key, codes, pca, watcher="a")
    assert not first.final and first.axis_labels == ("PCA 1", "PCA 2") and "UMAP" in first.note
    np.testing.assert_array_equal(first.points, pca.points)
    job = projections.job(key)
    assert job is not None and job.watchers == {"a"}
    finished = _wait(job, ("finished",)).points
    done = current_map(key, codes, pca, start=False)
    assert done.final and done.axis_labels == ("UMAP 1", "UMAP 2")
    np.testing.assert_array_equal(done.points, finished)
    np.testing.assert_array_equal(projection_cache.load(key), finished)
    restarted = Projections(spare=False)  # another server process: the disk cache answers, no job
    projection_work._projections = restarted
    try:
        again = current_map(key, codes.copy(), pca)
        assert again.final and restarted.job(key) is None
        np.testing.assert_array_equal(again.points, finished)
    finally:
        restarted.shutdown()


def test_too_few_codes_for_t_sne_get_their_pca_map_at_once_and_no_job(projections):
    codes = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    key = ProjectionKey.of_codes(codes, "tsne")
    shown = current_map(key, codes, project(codes, "pca"))
    assert shown.final and shown.axis_labels == ("PCA 1", "PCA 2") and "at least 5 codes" in shown.note
    assert projections.job(key) is None


# ------------------------------------------------------------------------------------------ the page


def _texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
                     + [bar.proto.text for bar in at.get("progress")])


def _axis_title(at: AppTest) -> str:
    """The x axis's title of the map (the page's other charts are training curves)."""
    (chart,) = [chart for chart in at.get("plotly_chart") if "own_map_chart" in chart.proto.id]
    return json.loads(chart.proto.spec)["layout"]["xaxis"]["title"]["text"]


def _map_progress(at: AppTest) -> list[str]:
    """The map's progress lines (the page's other one is training's)."""
    return [bar.proto.text for bar in at.get("progress") if "t-SNE" in bar.proto.text]


def _rerun_until(at: AppTest, done, what: str) -> AppTest:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        if done(at):
            return at
        time.sleep(0.3)
    raise AssertionError(f"{what} never happened; the page said:\n{_texts(at)}")


@pytest.fixture
def trained_page(folder, monkeypatch, projections) -> AppTest:
    """The Your images page after a 2-epoch training on the folder (on the server, allowed)."""
    monkeypatch.setenv(IMAGE_ROOTS_ENV, str(folder.parent))
    at = AppTest.from_file(str(ROOT / "views" / "own_images.py"), default_timeout=WAIT_S).run()
    at.text_input(key="own_server_folder").set_value(str(folder)).run()
    at.button(key="own_use_folder").click().run()
    at.select_slider(key="own_size").set_value(32).run()
    at.select_slider(key="own_latent").set_value(8).run()
    at.number_input(key="own_epochs").set_value(2).run()
    at.button(key="own_train").click().run()
    return _rerun_until(at, lambda at: any(radio.key == "own_map" for radio in at.radio), "training")


def test_the_page_shows_pca_at_once_stops_and_restarts_t_sne_then_draws_and_caches_it(trained_page, projections):
    at = trained_page
    assert _axis_title(at) == "PCA 1" and "48 of 48 images" in _texts(at)
    blocker_codes = np.random.default_rng(1).normal(size=(4000, 16)).astype(np.float32)  # tens of seconds
    blocker = projections.request(ProjectionKey.of_codes(blocker_codes, "tsne"), blocker_codes)  # the only worker
    at.radio(key="own_map").set_value("tsne").run()
    assert not at.exception
    assert _axis_title(at) == "PCA 1" and "t-SNE waits for a free worker (1 in line)" in _texts(at)
    codes = at.session_state["own_map_codes"].points.codes
    key = ProjectionKey.of_codes(codes, "tsne")
    job = projections.job(key)
    assert job.status().state == "waiting"
    at.button(key="own_map_stop").click().run()
    assert job.status().state == "stopped" and at.button(key="own_map_restart").label == "Compute t-SNE again"
    at.run()  # the page does not start it again on its own
    assert job.status().state == "stopped" and not _map_progress(at) and _axis_title(at) == "PCA 1"
    projections.stop(blocker.key)
    at.button(key="own_map_restart").click().run()
    at = _rerun_until(at, lambda at: _axis_title(at) == "t-SNE 1" and not _map_progress(at), "the t-SNE map")
    np.testing.assert_array_equal(projection_cache.load(key), projections.job(key).status().points)
    restarted = Projections(spare=False)  # the next server (or another session with these codes): at once
    projection_work._projections = restarted
    try:
        at.run()
        assert _axis_title(at) == "t-SNE 1" and not _map_progress(at) and restarted.job(key) is None
    finally:
        restarted.shutdown()


def test_picks_on_the_map_show_the_images_and_hovering_asks_for_one(trained_page):
    at = trained_page
    encoded = at.session_state["own_map_codes"]
    files = point_files(encoded.data, encoded.points)
    at.session_state["own_map_chart"] = {"selection": {
        "points": [{"curve_number": 1, "point_number": 5, "point_index": 5, "x": 0.0, "y": 0.0}],
        "point_indices": [5], "box": [], "lasso": []}}
    at.run()
    captions = [e.proto.imgs[0].caption for e in at.get("image") if e.proto.imgs]
    assert any(caption.startswith(files[5] + ", class ") for caption in captions)
    at.session_state["own_map_chart"] = {"selection": {
        "points": [{"curve_number": 1, "point_number": r, "point_index": r, "x": 0.0, "y": 0.0} for r in range(6)],
        "point_indices": list(range(6)), "box": [{"x": [0, 1], "y": [0, 1]}], "lasso": []}}
    at.run()
    assert "6 selected images" in [e.proto.imgs[0].caption for e in at.get("image") if e.proto.imgs]
    assert not at.exception
    name = f"own|{encoded.points.selection}|{encoded.digest}"
    at.session_state["own_hover"] = {"want": {"row": 2, "map": name, "at": 1}}  # what the browser sends on hover
    at.run()
    (hover,) = [element for element in at.get("bidi_component") if element.proto.id.endswith("own_hover")]
    reply = json.loads(hover.proto.json)
    assert reply["chart"] == "own_map_chart" and reply["map"] == name and reply["row"] == 2
    assert reply["caption"] == f"{files[2]}, class {encoded.data.class_names[int(encoded.points.labels[2])]}"
    image = Image.open(io.BytesIO(base64.b64decode(reply["image"].removeprefix("data:image/png;base64,"))))
    expected = point_pixels(encoded.data, encoded.points, [2])[0]  # (3, 32, 32), drawn 4x (about 112 px)
    assert image.size == (4 * 34, 4 * 34)  # with a 1-pixel frame
    shown = np.asarray(image.convert("RGB"))[4:-4:4, 4:-4:4].transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(shown, expected, atol=1 / 255 + 1e-6)  # the hovered image itself
    at.session_state["own_hover"] = {"want": {"row": 2, "map": "another map", "at": 2}}  # asked on an older map
    at.run()
    assert json.loads(at.get("bidi_component")[0].proto.json)["row"] is None
