"""Presenter view: ``?present=1`` or the sidebar's toggle collapses the sidebar, hides the toolbar, makes type
1.3x larger and caps the charts' heights so a page's main picture fits 1280x720; off, only the laptop view's
narrower margins remain."""

import json
import re

import numpy as np
import pytest
from app_runs import open_app
from streamlit.testing.v1 import AppTest

from aecore.ui import links, presenter
from aecore.ui.charts import latent_map_figure


def _styles(at: AppTest) -> str:
    return "\n".join(element.proto.body for element in at.get("html") if "<style" in element.proto.body)


def _figures(at: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def test_a_figure_built_outside_a_run_keeps_its_own_size():
    points, labels = np.random.default_rng(0).normal(size=(50, 2)), np.arange(50) % 10
    figure = latent_map_figure(points, labels, tuple("0123456789"), axis_labels=("z0", "z1"))
    assert figure.layout.height == 600 and figure.layout.font.size == 18
    assert not presenter.presenting() and presenter.chart_height(600) == 600 and presenter.type_scale() == 1.0


def test_present_in_the_link_turns_the_presenter_view_on():
    at = open_app("views/explore.py", {"present": "1"})
    assert not at.exception
    assert at.toggle(key=presenter.TOGGLE_KEY).value is True
    assert at.query_params["present"] == "1"  # and stays in the link
    css = _styles(at)
    root = float(re.search(r"html \{ font-size: ([\d.]+)px", css).group(1))
    assert root >= round(1.3 * presenter.base_font_px(), 1) and presenter.base_font_px() == 18  # config.toml
    assert 'data-testid="stMainMenu"' in css and "display: none" in css
    (the_map,) = _figures(at)
    assert the_map["layout"]["height"] == 470  # views/explore.py's PRESENTED_MAP_HEIGHT, not the usual 600
    assert any(caption.value.startswith("2,000 of 10,000 test images") for caption in at.caption)  # under the map
    assert the_map["layout"]["font"]["size"] >= 1.3 * 18  # the charts' own text too


def test_the_toggle_turns_it_on_and_off_and_the_link_follows():
    at = open_app("views/denoise.py")
    assert "font-size" not in _styles(at) and "present" not in at.query_params
    normal = [figure["layout"]["height"] for figure in _figures(at)]
    at.toggle(key=presenter.TOGGLE_KEY).set_value(True).run()
    assert at.query_params["present"] == "1" and "font-size" in _styles(at)
    assert [figure["layout"]["height"] for figure in _figures(at)] == [
        min(height, presenter.PRESENT_CHART_HEIGHT) for height in normal]
    at.toggle(key=presenter.TOGGLE_KEY).set_value(False).run()
    assert "present" not in at.query_params and "font-size" not in _styles(at)
    assert [figure["layout"]["height"] for figure in _figures(at)] == normal


@pytest.mark.parametrize("n", [200, 5000])
def test_the_starred_spot_is_the_last_trace_of_the_points_kind_so_it_is_drawn_above_every_point(n):
    """WebGL traces are drawn on a canvas above the SVG ones: an SVG star hid under WebGL points (Draw's defect)."""
    points, labels = np.random.default_rng(0).normal(size=(n, 2)), np.arange(n) % 10
    figure = latent_map_figure(points, labels, tuple("0123456789"), axis_labels=("z0", "z1"), marker=(0.1, -0.2),
                               marker_name="your digit")
    star = figure.data[-1]
    assert star.type == figure.data[1].type and star.name == "your digit" and (star.x, star.y) == ((0.1,), (-0.2,))
    assert star.marker.symbol == "star" and star.marker.size > figure.data[1].marker.size


def test_present_stays_in_the_link_on_every_page_after_a_page_switch():
    at = open_app("views/explore.py", {"present": "1"})
    for path in ("views/sweep.py", "views/slow_motion.py", "views/own_images.py", "views/denoise.py",
                 "views/home.py"):
        at.switch_page(path).run()
        assert not at.exception, path
        assert at.query_params["present"] == "1" and at.toggle(key=presenter.TOGGLE_KEY).value is True, path


def test_the_first_run_on_a_page_writes_the_url_even_when_st_query_params_already_matches(monkeypatch):
    """st.switch_page (a tour's Next, an "Open in" button) clears the browser's query string while the next run's
    st.query_params may still hold the old one: comparing with it alone left the URL without ``present=1``."""
    sent = []
    monkeypatch.setattr(links, "wanted_params", lambda path: {"present": "1"})
    monkeypatch.setattr(links.st, "query_params", _FakeParams({"present": "1"}, sent))
    state: dict = {links.PAGE_KEY: "views/explore.py"}
    monkeypatch.setattr(links.st, "session_state", state)
    with links.kept_in_url("views/inside.py"):  # a switch: written although it matches
        pass
    assert sent == [{"present": "1"}]
    with links.kept_in_url("views/inside.py"):  # the same page again: nothing to send
        pass
    assert sent == [{"present": "1"}]


class _FakeParams:
    """st.query_params as the server's script sees it: what it holds, and each URL it sends."""

    def __init__(self, held: dict, sent: list):
        self.held, self.sent = held, sent

    def to_dict(self) -> dict:
        return dict(self.held)

    def from_dict(self, params: dict) -> None:
        self.held = dict(params)
        self.sent.append(dict(params))
