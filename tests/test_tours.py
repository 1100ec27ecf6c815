"""Lesson tours: one ships per lecture and every step is a view its page can show; a malformed tour file is refused
with one line; a recorded tour downloads and loads back the same; a tour plays end to end, Next and Back, and sets
its views without Streamlit's warning about widget defaults."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from widget_warnings import no_widget_default_overridden  # noqa: F401  (an autouse fixture)

from aecore import checkpoints, tours
from aecore.checkpoints import PRETRAINED_DIR
from aecore.tours import Step, Tour, TourError
from aecore.ui import links, presenter, tour_bar
from aecore.ui.navigation import PAGES
from aecore.ui.sidebar import SETTINGS_KEY
from aecore.ui.widgets import SELECTED_RUN

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180


@pytest.fixture(autouse=True)
def user_runs(tmp_path, monkeypatch):
    """Only the shipped runs: a saved run of the same name elsewhere cannot shadow them."""
    monkeypatch.setattr(checkpoints, "USER_RUNS_DIR", tmp_path / "runs")


def _parse(data, name: str = "tour.json") -> Tour:
    text = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return tours.parse_tour(text, tour_bar.known_pages(), tour_bar.check_view, name=name)


def _step(**change) -> dict:
    return {"page": "views/explore.py", "params": {"model": "mnist-vae-latent2"}, "caption": "The VAE's map.",
            **change}


# --- the shipped tours


def test_one_tour_ships_per_lecture_and_every_step_restores_on_its_page_without_a_note():
    files = tours.shipped_tour_files()
    assert [path.name for path in files] == [f"lecture-00{n}.json" for n in range(5)]
    pages = {spec.path for spec in PAGES}
    for path in files:
        tour = _parse(path.read_bytes(), path.name)
        assert tour.title.startswith(f"Lecture 00{path.stem[-1]}:")
        assert 4 <= len(tour.steps) <= 8
        for step in tour.steps:
            assert step.page in pages
            values, notes, _ = links.restore_page(step.page, step.params, {})
            assert notes == [] and set(values) == set(step.params) - {"preset"}, (path.name, step)
            assert len(re.findall(r"[.!?](\s|$)", step.caption)) <= 2, step.caption  # one or two sentences
            assert all((PRETRAINED_DIR / run).is_dir()  # on the shipped runs, found on any machine
                       for name, run in step.params.items() if name in ("model", "left", "right"))


# --- malformed files: refused with one line naming the file and the step


@pytest.mark.parametrize(("content", "expected"), [
    ("{not json", "tour.json: not a JSON file (line 1)"),
    (b"\xff\xfe{}", "tour.json: not a JSON file"),
    ("x" * (tours.MAX_TOUR_BYTES + 1), "more than a tour may have"),
    ([], "tour.json: is not a JSON object with a title and steps"),
    ({"title": "T", "steps": []}, "tour.json: has no steps"),
    ({"steps": [_step()]}, "tour.json: title is not a text"),
    ({"title": "T", "steps": [_step()], "author": "me"}, "has an unknown field 'author'"),
    ({"title": "T", "steps": [_step(), _step(), {"params": {}, "caption": "x"}]}, "tour.json: step 3 names no page"),
    ({"title": "T", "steps": [_step(page="views/../app.py")]}, "step 1 names 'views/../app.py', not a page"),
    ({"title": "T", "steps": [_step(params={"model": 2})]}, "step 1 param 'model' is not a text"),
    ({"title": "T", "steps": [_step(params=["model"])]}, "step 1 params is not an object of names to texts"),
    ({"title": "T", "steps": [_step(params={"rm": "-rf"})]}, "step 1 views/explore.py has no param 'rm'"),
    ({"title": "T", "steps": [_step(params={"present": "1"})]}, "has no param 'present'"),
    ({"title": "T", "steps": [_step(params={"model": "no-such-run"})]},
     "step 1 model='no-such-run': no shipped or saved run has that name"),
    ({"title": "T", "steps": [_step(params={"grid": "99"})]}, "step 1 grid='99': expected an integer from 0 to 30"),
    ({"title": "T", "steps": [_step(page="views/train.py", params={"latent": "-3"})]}, "step 1 "),
    ({"title": "T", "steps": [_step(caption="")]}, "step 1 caption is not a text"),
    ({"title": "T", "steps": [_step(caption="Two\nlines")]}, "step 1 caption spans several lines"),
    ({"title": "T", "steps": [_step(caption="x" * 301)]}, "step 1 caption is longer than 300 characters"),
    ({"title": "T", "steps": [_step()] * (tours.MAX_STEPS + 1)}, "has 51 steps, more than 50"),
    ({"title": "T", "steps": [_step(params={f"p{i}": "1" for i in range(61)})]}, "more than 60 params"),
])
def test_a_malformed_tour_is_refused_with_one_line(content, expected):
    with pytest.raises(TourError) as refused:
        _parse(content)
    message = str(refused.value)
    assert expected in message and message.startswith("tour.json: ") and "\n" not in message


def test_a_recorded_tour_dumps_and_loads_back_the_same():
    tour = Tour("My tour: ünïcode", (
        Step("views/explore.py", {"model": "mnist-vae-latent2", "map": "pca", "at": "0.5,-1.25"}, "Codes, linearly."),
        Step("views/train.py", {"preset": "lecture-003-ae", "latent": "3"}, "Press Start."),
        Step("views/home.py", {}, "Back home.")))
    text = tours.dump_tour(tour)
    assert _parse(text) == tour
    assert tours.dump_tour(_parse(text.encode())) == text


# --- restoring a view in the middle of a session (aecore.ui.links)


def test_a_view_restored_mid_session_puts_back_the_defaults_it_leaves_out():
    state = {"run_picker": PRETRAINED_DIR / "mnist-conv-vae", SELECTED_RUN: str(PRETRAINED_DIR / "mnist-conv-vae"),
             "explore_mode": "tsne", "explore_perplexity": 5, "explore_grid": 3, "lab_toy_ran": True}
    assert links.restore_view("views/explore.py", {"model": "mnist-vae-latent2", "grid": "20"}, state) == []
    assert state["run_picker"] == PRETRAINED_DIR / "mnist-vae-latent2"  # the picker follows, or its value wins
    assert links.view_params("views/explore.py", state) == {"model": "mnist-vae-latent2", "grid": "20"}
    assert state["lab_toy_ran"]  # another page's state is left alone
    links.restore_view("views/explore.py", {}, state)
    assert links.view_params("views/explore.py", state) == {}
    assert state["run_picker"] == PRETRAINED_DIR / "mnist-ae-latent2"
    links.restore_view("views/labs.py", {"lab": "two_d"}, state)
    assert not state["lab_toy_ran"] and state["lab_two_d_ran"]  # the labs named, and only those


def test_a_training_page_view_carries_the_settings():
    state: dict = {}
    links.restore_view("views/train.py", {"preset": "lecture-003-ae", "latent": "3"}, state)
    assert state[SETTINGS_KEY]["preset"] == "lecture-003-ae" and state[SETTINGS_KEY]["latent"] == 3
    assert links.view_params("views/train.py", state) == {"preset": "lecture-003-ae", "latent": "3"}
    assert links.view_params("views/explore.py", {**state, "present_mode": True}) == {}  # neither present nor settings


def test_a_download_gets_a_plain_file_name():
    assert tour_bar.file_name("Lecture 003: a 2-D code!") == "lecture-003-a-2-d-code.json"
    assert tour_bar.file_name("???") == "tour.json"


# --- AppTest: the real app


def _state_shown(at: AppTest, step: Step) -> None:
    """The app shows ``step``: its page and every value the step names, none refused."""
    assert not at.exception
    assert at.session_state[links.PAGE_KEY] == step.page
    wanted: dict = {}
    links.restore_view(step.page, step.params, wanted)
    shown = at.session_state.to_dict()
    assert links.view_params(step.page, wanted).items() <= links.view_params(step.page, shown).items(), step
    assert not [toast.value for toast in at.toast if "link" in toast.value]  # no value refused or ignored


def _bar_text(at: AppTest) -> str:
    return "\n".join(markdown.value for markdown in at.markdown)


def _play(tour: Tour) -> Iterator[tuple[AppTest, int, Step]]:
    """The app on each step of ``tour`` in turn, started from the sidebar and moved on with Next; each step's
    page shows its view (:func:`_state_shown`)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.button(key="tour_start").disabled
    at.selectbox(key=tour_bar.PICK_KEY).set_value(tour.title)
    at.button(key="tour_start").click().run()
    for index, step in enumerate(tour.steps):
        if index:
            at.button(key="tour_next").click().run()
        _state_shown(at, step)
        yield at, index, step


def test_a_shipped_tour_plays_end_to_end_with_next_and_back():
    tour = tour_bar.shipped_tours()["Lecture 001: plain, denoising and variational autoencoders"]
    for at, index, step in _play(tour):
        assert f"step {index + 1} of {len(tour.steps)}" in _bar_text(at) and step.caption in _bar_text(at)
        assert at.button(key="tour_back").disabled == (index == 0)
    assert at.button(key="tour_next").disabled  # the last step
    at.button(key="tour_back").click().run()
    _state_shown(at, tour.steps[-2])
    assert f"step {len(tour.steps) - 1} of {len(tour.steps)}" in _bar_text(at)
    at.button(key="tour_end").click().run()
    assert not at.exception and tour_bar.TOUR_KEY not in at.session_state
    assert step.caption not in _bar_text(at)


@pytest.mark.parametrize("title", sorted(tour_bar.shipped_tours()))
def test_every_step_of_every_shipped_tour_shows_its_page_without_a_warning_or_an_error(title):
    """Each step as the class sees it: its page, drawn from the step's view, with no exception, error or warning
    element (a tour step that says "this model cannot be trained" tells the class something untrue)."""
    for at, index, step in _play(tour_bar.shipped_tours()[title]):
        shown = [f"{kind}: {element.value}" for kind in ("error", "warning")
                 for element in getattr(at.main, kind)]
        assert shown == [], (index + 1, step.page, shown)


def test_a_teacher_records_a_tour_downloads_it_and_a_bad_file_is_refused_with_one_line():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("views/explore.py").run()
    run_picker = at.selectbox(key="run_picker")
    run_picker.select_index(next(i for i, o in enumerate(run_picker.options) if "mnist-vae-latent2" in o)).run()
    at.button(key="tour_add").click().run()  # no caption yet
    assert "Write the caption" in "\n".join(w.value for w in at.warning)
    at.text_area(key=tour_bar.CAPTION_KEY).input("The VAE's map.").run()
    at.button(key="tour_add").click().run()
    at.switch_page("views/home.py").run()
    at.text_area(key=tour_bar.CAPTION_KEY).input("Back home.").run()
    at.button(key="tour_add").click().run()
    at.text_input(key=tour_bar.TITLE_KEY).input("Two views").run()
    assert not at.exception
    recorded = _parse(tours.dump_tour(Tour(at.session_state[tour_bar.TITLE_KEY],
                                           tuple(at.session_state[tour_bar.DRAFT_KEY]))))
    assert recorded == Tour("Two views", (Step("views/explore.py", {"model": "mnist-vae-latent2"}, "The VAE's map."),
                                          Step("views/home.py", {"model": "mnist-vae-latent2"}, "Back home.")))

    at.file_uploader(key=tour_bar.UPLOAD_KEY).set_value(
        [("broken.json", json.dumps({"title": "T", "steps": [{"caption": "x"}]}).encode(), "application/json")]).run()
    assert [error.value for error in at.error] == ["broken.json: step 1 names no page"]
    at.file_uploader(key=tour_bar.UPLOAD_KEY).set_value(
        [("two.json", tours.dump_tour(recorded).encode(), "application/json")]).run()
    assert at.selectbox(key=tour_bar.PICK_KEY).value == "Two views"
    at.button(key="tour_start").click().run()
    _state_shown(at, recorded.steps[0])


def test_the_presenter_view_stays_on_through_a_tour_across_pages():
    tour = tour_bar.shipped_tours()["Lecture 001: plain, denoising and variational autoencoders"]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["present"] = "1"
    at.run()
    at.selectbox(key=tour_bar.PICK_KEY).set_value(tour.title)
    at.button(key="tour_start").click().run()
    pages = set()
    for step in tour.steps[1:]:
        at.button(key="tour_next").click().run()
        pages.add(at.session_state[links.PAGE_KEY])
        assert not at.exception and at.session_state[presenter.PRESENT_KEY] is True, step.page
        assert at.toggle(key=presenter.TOGGLE_KEY).value is True
    assert len(pages) > 1  # the tour went to other pages
