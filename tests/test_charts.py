"""The latent map colours each point with its class's legend colour; a selection on it reads as a click or a pick."""

import numpy as np

from aecore.ui.charts import DATA_TRACE, MapPick, class_color, latent_map_figure, read_pick


def _colour_of(value: float, marker) -> str:
    """The colour Plotly draws for a numeric marker value with a stepped colorscale."""
    position = (value - marker.cmin) / (marker.cmax - marker.cmin)
    steps = marker.colorscale
    for (start, colour), (end, _) in zip(steps[::2], steps[1::2], strict=True):
        if start <= position <= end:
            return colour
    raise AssertionError(f"{value} falls outside the colorscale")


def test_every_point_gets_its_class_legend_colour():
    labels = np.array([3, 0, 9, 3, 11, 1])  # 11: more classes than colours, which cycle
    points = np.random.default_rng(0).normal(size=(len(labels), 2))
    figure = latent_map_figure(points, labels, tuple(str(i) for i in range(12)), axis_labels=("x", "y"))
    marker = figure.data[DATA_TRACE].marker
    assert [_colour_of(value, marker) for value in marker.color] == [class_color(label) for label in labels]
    legend = {trace.name: trace.marker.color for trace in figure.data if trace.name not in ("anywhere", "images")}
    assert legend["11"] == class_color(11) and legend["3"] == class_color(3)


def _event(points, box=()):
    return {"selection": {"points": [{"curve_number": curve, "point_index": index, "x": x, "y": y}
                                     for curve, index, x, y in points], "box": list(box), "lasso": []}}


def test_a_single_click_gives_its_spot_and_the_data_point_under_it():
    assert read_pick(_event([(0, 17, -4.0, 2.5)])) == MapPick(position=(-4.0, 2.5))  # the invisible grid: a spot
    assert read_pick(_event([(DATA_TRACE, 3, 1.0, 2.0)])) == MapPick(position=(1.0, 2.0), rows=(3,))


def test_a_box_picks_data_points_only_and_no_spot():
    event = _event([(DATA_TRACE, 4, 0.0, 0.0), (DATA_TRACE, 9, 0.0, 0.0), (0, 5, 0.0, 0.0)], box=[{"x": [0, 1]}])
    assert read_pick(event) == MapPick(rows=(4, 9))
    assert read_pick(_event([(DATA_TRACE, 4, 0.5, 0.5)], box=[{"x": [0, 1]}])) == MapPick(rows=(4,))


def test_no_selection_picks_nothing():
    assert read_pick(None) == MapPick() and read_pick({"selection": None}) == MapPick()
