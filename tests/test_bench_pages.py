"""bench.pages' figures from a hand-made result (no browser, no server, no timing asserted)."""

from bench import pages
from bench.results import flat_figures

DETAILS = {"cold": {"heading_s": [3.1, 3.3], "reconstruction_s": [4.0, 4.4], "health_s": [0.6, 0.7]},
           "pages": {"open_s": {"Train": [0.4, 0.6], "Compare": [2.5, 3.5], "Draw": [None, None]},
                     "rerun_s": {"Train": [0.1, 0.2], "Compare": [0.3, None], "Draw": [0.05, 0.07]}},
           "reload": {"reload_s": [1.5, 2.5], "steps_shown": [40, 90]}, "server_tracebacks": 2}


def test_figures_of_a_small_result():
    figures = pages.figures_of(DETAILS)
    names = dict(flat_figures(figures))
    assert names["cold_start_heading_s"]["median"] == 3.2
    assert names["cold_start_reconstruction_s"]["samples"] == [4.0, 4.4]
    assert names["open_s.Compare"]["median"] == 3.0 and names["open_s.Compare"]["unit"] == "s"
    assert "open_s.Draw" not in names  # no run started: no sample, no figure
    assert names["rerun_s.Compare"]["n"] == 1  # the None left out
    assert names["open_s_all"]["n"] == 4 and "p95" in names["open_s_all"]
    assert names["rerun_s_all"]["n"] == 5 and names["rerun_s_all"]["better"] == "lower"
    assert names["reload_progress_s"]["median"] == 2.0
    assert names["server_tracebacks"]["median"] == 2


def test_over_target_names_the_slow_page():
    lines = pages.over_target(pages.figures_of(DETAILS))
    assert any(line.startswith("open_s.Compare:") for line in lines)
    assert not any("Train" in line or "cold_start" in line or "reload" in line for line in lines)


def test_parts_left_out_give_no_figures():
    assert list(pages.figures_of({"server_tracebacks": 0})) == ["server_tracebacks"]
