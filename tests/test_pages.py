"""AppTest: every page renders; the sidebar reaches the engine; Start/Stop/Resume/Save work.

Streamlit 1.67's AppTest loses the widgets that app.py itself draws (our sidebar)
on every rerun of a st.navigation app after the first, although the real server
keeps them. So these tests drive each page through a one-page harness that draws
the same sidebar and then runs the page; the real app.py is run once here, and
the browser test (test_browser.py) checks navigation and persistence across pages.
"""

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aecore import checkpoints
from aecore.checkpoints import load_run
from aecore.ui.navigation import PAGES
from aecore.ui.sidebar import Keys

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


@pytest.fixture(autouse=True)
def user_runs(tmp_path, monkeypatch):
    """Runs saved by these tests go to a temporary folder, never into the project."""
    folder = tmp_path / "runs"
    monkeypatch.setattr(checkpoints, "USER_RUNS_DIR", folder)
    return folder


HARNESS = """
import runpy
import streamlit as st
from aecore.ui.sidebar import render_sidebar

st.set_page_config(layout="wide")
render_sidebar()
runpy.run_path({page!r}, run_name="__main__")
"""


def _page(path: str) -> AppTest:
    """One page of the dashboard with the shared sidebar, as app.py shows it."""
    return AppTest.from_string(HARNESS.format(page=str(ROOT / path)), default_timeout=TIMEOUT)


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [e.value for e in at.error]
    parts += [bar.proto.text for bar in at.get("progress")]
    return "\n".join(parts)


def test_the_app_starts_on_home_with_the_sidebar_and_navigates():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "Autoencoder Lab"
    assert {Keys.LATENT, Keys.NOISE, Keys.SPARSITY_BETA} <= {s.key for s in at.slider}
    for spec in PAGES:
        at.switch_page(spec.path).run()
        assert not at.exception, spec.path


@pytest.mark.parametrize("spec", PAGES, ids=lambda spec: spec.title)
def test_every_page_renders_without_an_exception(spec):
    at = _page(spec.path).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    at.run()  # and again, as after any click
    assert not at.exception


def test_home_shows_a_shipped_model_reconstructing_real_digits():
    at = _page("pages/home.py").run()
    assert "Input → code → reconstruction: mnist-ae-latent2 (shipped)" in [h.value for h in at.subheader]
    assert len(at.get("image")) == 16  # eight inputs and their eight reconstructions


def test_choosing_a_preset_sets_the_sliders_and_the_sliders_set_the_next_run():
    at = _page("pages/train.py").run()
    at.selectbox(key=Keys.PRESET).select("lecture-003-ae").run()
    assert at.slider(key=Keys.LATENT).value == 2
    assert at.select_slider(key=Keys.LR).value == 1e-4
    assert at.select_slider(key=Keys.BATCH_SIZE).value == 50
    at.slider(key=Keys.LATENT).set_value(7).run()
    assert "**lecture-003-ae** (MLP) on **mnist** · latent 7" in _texts(at)
    at.selectbox(key=Keys.PRESET).select("lecture-002-toy").run()
    assert at.selectbox(key=Keys.DATASET).value == "patterns-3x3" and at.slider(key=Keys.LATENT).value == 4


def _wait_for(at: AppTest, text: str, timeout: float = 90) -> AppTest:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        if text in _texts(at):
            return at
        time.sleep(0.3)
    raise AssertionError(f"{text!r} never appeared; page said:\n{_texts(at)}")


def test_sliders_reach_the_engine_and_start_stop_resume_save_work(user_runs):
    at = _page("pages/train.py").run()
    at.selectbox(key=Keys.DATASET).select("digits").run()
    at.slider(key=Keys.LATENT).set_value(3).run()
    at.slider(key=Keys.NOISE).set_value(0.3).run()
    at.slider(key=Keys.SPARSITY_BETA).set_value(0.5).run()
    at.number_input(key=Keys.EPOCHS).set_value(5000).run()
    at.button[0].click().run()  # Start new run
    at = _wait_for(at, "This run: **ae** (MLP) on **digits** · latent 3 · noise 0.3 (gaussian) · sparsity β 0.5")
    _wait_for(at, "Training on CPU")
    assert not at.exception
    next(b for b in at.button if b.label == "Stop").click().run()
    at = _wait_for(at, "Stopped after")
    next(b for b in at.button if b.label == "Resume").click().run()
    _wait_for(at, "Training on CPU")
    next(b for b in at.button if b.label == "Stop").click().run()
    at = _wait_for(at, "Stopped after")
    at.text_input[0].set_value("apptest-run")
    next(b for b in at.button if b.label == "Save run").click().run()
    assert "Saved: pick **apptest-run**" in _texts(at)
    saved = load_run(user_runs / "apptest-run")
    assert saved.config.model.latent_dim == 3 and saved.config.objective.noise_factor == 0.3
    assert saved.config.objective.sparsity == "l1" and saved.config.objective.sparsity_beta == 0.5


def test_an_impossible_combination_is_explained_not_raised():
    at = _page("pages/train.py").run()
    at.selectbox(key=Keys.PRESET).select("conv-ae").run()
    at.selectbox(key=Keys.DATASET).select("patterns-3x3").run()
    at.button[0].click().run()
    assert not at.exception
    assert any("too small" in e.value for e in at.error)


def test_a_folder_dataset_without_a_path_asks_for_one():
    at = _page("pages/train.py").run()
    at.selectbox(key=Keys.DATASET).select("your image folder…").run()
    assert any("Type the path of an image folder" in e.value for e in at.error)
    assert at.button[0].disabled


def test_continuing_a_run_folder_that_does_not_match_shows_a_message(user_runs):
    import json
    import shutil

    from aecore.checkpoints import PRETRAINED_DIR
    from aecore.ui.widgets import SELECTED_RUN

    broken = user_runs / "broken-run"
    shutil.copytree(PRETRAINED_DIR / "mnist-ae-latent2", broken)
    raw = json.loads((broken / "config.json").read_text())
    raw["run"]["model"]["latent_dim"] = 5  # the weights are for a 2-d code
    (broken / "config.json").write_text(json.dumps(raw))
    at = _page("pages/train.py")
    at.session_state[SELECTED_RUN] = str(broken)
    at.run()
    next(b for b in at.button if b.label == "Continue selected run").click().run()
    assert not at.exception
    assert any("model.safetensors does not match config.json" in e.value for e in at.error)
