"""Each page's state is declared once (aecore.ui.page_state): a link writes and reads back every declared default,
a widget drawn from its declaration shows what session state holds (a value it cannot take gives way to the
default), and a page's state survives leaving the page and coming back, without Streamlit's warning about widget
defaults."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from widget_warnings import no_widget_default_overridden  # noqa: F401  (an autouse fixture)

from aecore import checkpoints
from aecore.ui import navigation, page_state, state_widgets
from aecore.ui.state_values import Value

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180


@pytest.fixture(autouse=True)
def user_runs(tmp_path, monkeypatch):
    """Only the shipped runs: a saved run of the same name elsewhere cannot shadow them."""
    monkeypatch.setattr(checkpoints, "USER_RUNS_DIR", tmp_path / "runs")


def test_every_declared_default_is_written_and_read_back_by_its_link():
    values = [value for spec in navigation.PAGES for value in spec.state if isinstance(value, Value)]
    assert len(values) > 40
    for value in values:
        if value.default is not None:
            assert value.parse(value.format(value.default)) == value.default, value.param


def test_a_widget_shows_session_state_or_its_default_where_it_cannot_take_that(monkeypatch):
    state: dict = {}
    monkeypatch.setattr(state_widgets.st, "session_state", state)
    grid = page_state.EXPLORE_GRID
    assert state_widgets.prepare(grid, hi=grid.hi) == grid.key and state[grid.key] == grid.default
    state[grid.key] = grid.hi - 1
    state_widgets.prepare(grid, hi=grid.hi)
    assert state[grid.key] == grid.hi - 1  # a value it takes stays
    state[grid.key] = grid.hi + 1
    state_widgets.prepare(grid, hi=grid.hi)
    assert state[grid.key] == grid.default
    state[page_state.EXPLORE_SPLIT.key] = "all"  # the map size is kept per choice of images
    assert state_widgets.prepare(page_state.EXPLORE_CAP, options=[500, 1000], default=1000) == "explore_cap_all"
    assert state["explore_cap_all"] == 1000
    index = page_state.INTERPOLATE_FROM.index  # an input that may stay empty
    state_widgets.prepare(index, hi=9999)
    assert state[index.key] is None
    state[index.key] = 10_000
    state_widgets.prepare(index, hi=9999)
    assert state[index.key] is None


def test_a_page_keeps_its_state_when_left_and_opened_again():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page(navigation.EXPLORE.path).run()
    at.radio(key=page_state.EXPLORE_SPLIT.key).set_value("all").run()  # train + test images, as a user tried
    at.select_slider(key="explore_cap_all").set_value(1000).run()
    at.slider(key=page_state.EXPLORE_GRID.key).set_value(8).run()
    at.switch_page(navigation.INSIDE.path).run()
    at.session_state[page_state.INSIDE_TAB.key] = "Activations"
    at.run().number_input(key=page_state.INSIDE_FIRST.key).set_value(16).run()
    at.switch_page(navigation.HOME.path).run()
    at.switch_page(navigation.EXPLORE.path).run()
    assert not at.exception
    assert at.radio(key=page_state.EXPLORE_SPLIT.key).value == "all"
    assert at.select_slider(key="explore_cap_all").value == 1000
    assert at.slider(key=page_state.EXPLORE_GRID.key).value == 8
    at.switch_page(navigation.INSIDE.path).run()
    assert at.session_state[page_state.INSIDE_TAB.key] == "Activations"
    assert at.number_input(key=page_state.INSIDE_FIRST.key).value == 16


def test_a_page_widget_defaults_to_the_value_it_shows_and_is_pushed_to_the_browser_only_when_written():
    """A browser that lost a widget's state draws its default: the value shown, not the widget's own (the minimum,
    the first choice), which it would send back as the user's change. A value written this run (a link, a tour)
    is pushed and not given as the default, which Streamlit would warn about (the autouse fixture; the links'
    tests write values on the run that draws them)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page(navigation.EXPLORE.path).run()
    at.slider(key=page_state.EXPLORE_GRID.key).set_value(8).run()
    at.radio(key=page_state.EXPLORE_SPLIT.key).set_value("all").run()  # the user's change
    at.run()
    grid, split = at.slider(key=page_state.EXPLORE_GRID.key), at.radio(key=page_state.EXPLORE_SPLIT.key)
    assert not grid.proto.set_value and list(grid.proto.default) == [8]
    assert not split.proto.set_value and split.value == "all" and split.proto.default == split.index
