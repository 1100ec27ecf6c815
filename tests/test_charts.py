"""The latent map colours each point with its class's legend colour."""

import numpy as np

from aecore.ui.charts import DATA_TRACE, class_color, latent_map_figure


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
