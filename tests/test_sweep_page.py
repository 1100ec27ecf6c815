"""The Sweep page: a grid from the form, started, followed live, its runs opened on other pages."""

import time

from streamlit.testing.v1 import AppTest

import aecore.checkpoints
from aecore.ui.sweep_view import VARIABLE


def test_a_sweep_runs_from_the_page_and_each_run_opens_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setattr(aecore.checkpoints, "USER_RUNS_DIR", tmp_path)
    at = AppTest.from_file("../views/sweep.py", default_timeout=120).run()
    assert not at.exception
    assert at.metric[0].value == "9"  # the default grid: latent 2, 8, 32 x noise 0, 0.3, 0.5
    at.selectbox(key="sweep_dataset").select("digits").run()
    at.number_input(key="sweep_epochs").set_value(1).run()
    at.text_input(key="sweep_values_latent").set_value("2,3").run()
    at.selectbox(key="sweep_axis_1").select("(nothing)").run()
    assert at.metric[0].value == "2" and "2 runs × 1 epoch on digits" in at.caption[1].value
    at.text_input(key="sweep_values_latent").set_value("2,0").run()
    assert "model.latent_dim" in at.error[0].value and at.button(key="sweep_start").disabled
    at.text_input(key="sweep_values_latent").set_value("2,3").run()
    at.button(key="sweep_start").click().run()
    deadline = time.monotonic() + 300
    while "2 of 2 runs ended" not in _progress(at) and time.monotonic() < deadline:
        time.sleep(0.3)  # polled, as the page's live view does, until both runs end
        at.run()
    assert not at.exception and "2 of 2 runs ended" in _progress(at)
    table = at.dataframe[0].value
    assert list(table["latent"]) == [2, 3] and list(table["status"]) == ["done", "done"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep-ae-latent2", "sweep-ae-latent3"]
    captions = [element.proto.imgs[0].caption for element in at.get("image") if element.proto.imgs]
    assert captions == ["the same eight test digits", "latent 2", "latent 3"]  # then each run's reconstructions
    assert at.button(key="sweep_open_Explore_sweep-ae-latent3")


def _progress(at) -> str:
    return " ".join(element.proto.text for element in at.get("progress"))


def test_a_setting_varies_on_one_axis_only_and_every_setting_starts_from_values_that_show_no_traceback():
    at = AppTest.from_file("../views/sweep.py", default_timeout=120).run()
    assert "Latent size" not in at.selectbox(key="sweep_axis_1").options  # the first axis's setting
    at.selectbox(key="sweep_axis_0").select("noise").run()  # the second axis's: it falls back to nothing
    assert not at.exception and at.selectbox(key="sweep_axis_1").value == "(nothing)"
    assert "Latent size" in at.selectbox(key="sweep_axis_1").options
    for name in VARIABLE:
        at.selectbox(key="sweep_axis_0").select(name).run()
        assert not at.exception, name
        assert at.text_input(key=f"sweep_values_{name}").value  # something to start from
    at.selectbox(key="sweep_axis_0").select("classes").run()
    assert at.text_input(key="sweep_values_classes").value == "1,5,6;0,1" and at.metric[0].value == "2"
