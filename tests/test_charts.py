"""The latent map colours each point with its class's legend colour; a selection on it reads as a click or a pick."""

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from aecore.pixels import png_bytes
from aecore.ui.charts import WEBGL_ABOVE, MapPanel, latent_figure, latent_map_figure, loss_figure, maps_side_by_side
from aecore.ui.hover import wanted_row
from aecore.ui.map_pick import DATA_TRACE, MapPick, read_pick
from aecore.ui.palette import class_color


def _drawn(figure) -> dict[int, dict]:
    """How the map draws each row of its points: colour, size, opacity, outline width and hover label."""
    drawn = {}
    for trace in figure.data:
        if trace.name != "images":
            continue
        marker = trace.marker
        for (row, shown_id), x in zip(trace.customdata, trace.x, strict=True):
            assert int(row) not in drawn, f"row {row} drawn twice"
            drawn[int(row)] = {"colour": marker.color, "size": marker.size, "opacity": marker.opacity, "x": x,
                               "outline": marker.line.width, "trace": trace.type,
                               "hover": trace.hovertemplate.replace("%{customdata[1]}", str(shown_id))}
    return drawn


def test_every_point_gets_its_class_legend_colour():
    labels = np.array([3, 0, 9, 3, 11, 1])  # 11: more classes than colours, which cycle
    points = np.random.default_rng(0).normal(size=(len(labels), 2))
    figure = latent_map_figure(points, labels, tuple(str(i) for i in range(12)), axis_labels=("x", "y"))
    drawn = _drawn(figure)
    assert sorted(drawn) == list(range(len(labels)))  # every row once
    assert [drawn[row]["colour"] for row in range(len(labels))] == [class_color(label) for label in labels]
    assert [drawn[row]["x"] for row in range(len(labels))] == list(points[:, 0].astype(np.float32))
    legend = {trace.name: trace.marker.color for trace in figure.data if trace.name not in ("anywhere", "images")}
    assert legend["11"] == class_color(11) and legend["3"] == class_color(3)


def test_every_trace_of_points_has_one_style_so_plotly_styles_it_at_once():
    figure = _map(WEBGL_ABOVE + 1, splits=np.arange(WEBGL_ABOVE + 1) % 3)
    points = [trace for trace in figure.data if trace.name == "images"]
    assert len(points) == 30  # ten classes in three splits
    for trace in points:
        marker = trace.marker
        assert all(np.ndim(value) == 0 for value in (marker.color, marker.size, marker.opacity, marker.line.width))
        assert "%{hovertext}" not in trace.hovertemplate and trace.hovertext is None
    assert [trace.marker.line.width for trace in points][-10:] == [1] * 10  # test points: drawn last, outlined


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


def test_a_pick_reads_each_points_row_from_its_customdata():
    figure = _map(8, point_ids=np.arange(8) + 100)
    trace = figure.data[DATA_TRACE + 1]
    row, shown_id = (int(value) for value in trace.customdata[0])
    assert shown_id == row + 100
    point = {"curve_number": DATA_TRACE + 1, "point_index": 0, "x": 0.5, "y": 0.5}
    as_list = {"selection": {"points": [point | {"customdata": [row, shown_id]}], "box": [], "lasso": []}}
    assert read_pick(as_list) == MapPick(position=(0.5, 0.5), rows=(row,))
    as_typed_array = {"selection": {"points": [point | {"customdata": {"0": row, "1": shown_id}}],
                                    "box": [{"x": [0, 1]}], "lasso": []}}
    assert read_pick(as_typed_array) == MapPick(rows=(row,))


def test_no_selection_picks_nothing():
    assert read_pick(None) == MapPick() and read_pick({"selection": None}) == MapPick()


def _map(n: int, **kwargs):
    rng = np.random.default_rng(1)
    return latent_map_figure(rng.normal(size=(n, 2)), rng.integers(0, 10, n), tuple("0123456789"),
                             axis_labels=("x", "y"), **kwargs)


def test_a_large_maps_points_travel_as_typed_arrays_of_four_bytes():
    """The JSON Streamlit sends for 70,000 points: coordinates float32 and [row, id] int32, base64-encoded typed
    arrays (Plotly's encoding of numpy arrays), not lists of numbers and not float64 (2.5 MB a map, sent again
    with each frame of a t-SNE job)."""
    spec = json.loads(_map(70_000).to_json())
    traces = [trace for trace in spec["data"] if trace.get("name") == "images"]
    assert sum(len(np.frombuffer(base64.b64decode(t["x"]["bdata"]), np.float32)) for t in traces) == 70_000
    assert all((t["x"]["dtype"], t["y"]["dtype"], t["customdata"]["dtype"]) == ("f4", "f4", "i4") for t in traces)


def test_a_live_maps_sample_is_drawn_with_each_points_own_row():
    rng = np.random.default_rng(2)
    points, labels, drawn_rows = rng.normal(size=(40, 2)), rng.integers(0, 3, 40), np.array([1, 5, 22, 39])
    figure = latent_map_figure(points, labels, ("a", "b", "c"), axis_labels=("x", "y"), drawn_rows=drawn_rows)
    drawn = _drawn(figure)
    assert sorted(drawn) == list(drawn_rows)  # hover and picks report rows of the whole map
    assert [drawn[row]["x"] for row in drawn_rows] == list(points[drawn_rows, 0].astype(np.float32))


def test_small_maps_are_svg_and_large_ones_webgl_with_the_star_of_the_same_kind():
    small, large = _map(WEBGL_ABOVE, marker=(0.0, 0.0)), _map(WEBGL_ABOVE + 1, marker=(0.0, 0.0))
    assert small.data[DATA_TRACE].type == "scatter" and small.data[-1].type == "scatter"
    assert large.data[DATA_TRACE].type == "scattergl" and large.data[-1].type == "scattergl"
    assert not any(trace.type == "scattergl" for trace in small.data)  # no WebGL context at all


def test_the_live_training_charts_take_no_webgl_context_at_their_largest():
    """They are drawn again every second: a WebGL chart made a new context each time (a busy browser)."""
    steps = [(i / 100, 1 / (i + 1)) for i in range(1000)]  # the step curve is thinned to 1,000 points
    history = [{"epoch": 1, "train": {"total": 0.5, "reconstruction": 0.5}, "val": {"total": 0.6}}]
    codes, labels = np.random.default_rng(0).normal(size=(1000, 2)), np.arange(1000) % 10  # a preview's codes
    for figure in (loss_figure(history, steps), latent_figure(codes, labels, (), "PCA of the codes")):
        assert figure.data and {trace.type for trace in figure.data} == {"scatter"}
    assert latent_figure(np.zeros((WEBGL_ABOVE + 1, 2)), np.zeros(WEBGL_ABOVE + 1), (), "z").data[0].type == "scattergl"


def test_hover_names_each_point_its_class_and_image_number():
    labels = np.array([4, 8, 4, 0, 9])
    figure = latent_map_figure(np.zeros((5, 2)), labels, tuple("0123456789"), axis_labels=("x", "y"),
                               point_ids=np.array([10, 11, 12, 13, 14]))
    drawn = _drawn(figure)
    assert [drawn[row]["hover"] for row in range(5)] == [
        f"class {label}<br>image #{10 + row}<extra></extra>" for row, label in enumerate(labels)]


def test_points_of_every_split_keep_their_class_colours_and_the_legend_says_how_each_split_is_drawn():
    splits = np.array([0, 1, 1, 0, 2, 1])
    labels = np.array([3, 3, 5, 5, 1, 0])
    figure = latent_map_figure(np.zeros((6, 2)), labels, tuple("0123456789"), axis_labels=("x", "y"), splits=splits)
    drawn = _drawn(figure)
    assert [drawn[row]["colour"] for row in range(6)] == [class_color(label) for label in labels]
    test, other = drawn[0]["opacity"], drawn[1]["opacity"]
    assert test > other and [drawn[row]["opacity"] for row in range(6)] == [test, other, other, test, other, other]
    assert [drawn[row]["outline"] for row in range(6)] == [1, 0, 0, 1, 0, 0]
    assert [drawn[row]["hover"].split("<br>")[0] for row in range(6)] == [
        "class 3, test", "class 3, training", "class 5, training", "class 5, test", "class 1, validation",
        "class 0, training"]
    legend = [trace.name for trace in figure.data if trace.showlegend is not False]
    assert legend == ["0", "1", "3", "5", "test (outlined)", "training (faint)", "validation (faint)"]


def test_one_split_gets_no_split_encoding():
    figure = _map(4, splits=np.zeros(4, dtype=np.int8))
    assert figure.data[DATA_TRACE].marker.opacity == 0.85
    assert not any("outlined" in (trace.name or "") for trace in figure.data)


def test_two_maps_side_by_side_are_one_figure_with_one_kind_of_trace():
    rng = np.random.default_rng(2)
    small = MapPanel(rng.normal(size=(50, 2)), rng.integers(0, 10, 50), tuple("0123456789"), "AE", ("z0", "z1"))
    large = MapPanel(rng.normal(size=(WEBGL_ABOVE + 1, 2)), rng.integers(0, 10, WEBGL_ABOVE + 1),
                     tuple("0123456789"), "VAE", ("z0", "z1"))
    figure = maps_side_by_side([small, large])
    points = [trace for trace in figure.data if trace.name == "images"]
    assert [trace.type for trace in points] == ["scattergl", "scattergl"]  # one WebGL scene for both subplots
    assert [(trace.xaxis, trace.yaxis) for trace in points] == [("x", "y"), ("x2", "y2")]
    assert [annotation.text for annotation in figure.layout.annotations] == ["AE", "VAE"]
    assert {trace.name for trace in figure.data if trace.showlegend is not False} == set("0123456789")
    assert [trace.type for trace in maps_side_by_side([small, small]).data if trace.name == "images"] == [
        "scatter", "scatter"]  # small maps: SVG, no WebGL context


def test_the_hover_image_answers_only_a_row_of_the_map_shown():
    want = {"want": {"row": 3, "map": "run|test:5/10:seed0", "at": 1}}
    assert wanted_row(want, "run|test:5/10:seed0", 5) == 3
    assert wanted_row(want, "run|all:5/70000:seed0", 5) is None  # asked on another map
    assert wanted_row(want, "run|test:5/10:seed0", 3) is None  # not a row of it
    assert wanted_row(None, "run|test:5/10:seed0", 5) is None and wanted_row({"want": None}, "m", 5) is None


def test_a_background_as_png_bytes_is_drawn_as_the_same_image_over_the_bounds():
    picture = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8))
    bounds = (-2.0, 3.0, -1.0, 4.0)
    from_bytes, from_image = (_map(10, background=background, bounds=bounds)
                              for background in (png_bytes(picture), picture))
    image = from_bytes.layout.images[0]
    assert (image.x, image.y, image.sizex, image.sizey, image.layer) == (-2.0, 4.0, 5.0, 5.0, "below")
    prefix = "data:image/png;base64,"
    decoded = Image.open(io.BytesIO(base64.b64decode(image.source.removeprefix(prefix))))
    assert image.source.startswith(prefix) and np.array_equal(np.asarray(decoded), np.asarray(picture))
    assert from_image.layout.images[0].source.startswith(prefix)  # a PIL image is encoded by Plotly
    assert list(from_bytes.layout.xaxis.range) == [-2.0, 3.0] and list(from_bytes.layout.yaxis.range) == [-1.0, 4.0]


def test_figures_are_drawn_on_the_white_template_though_none_names_it():
    for figure in (_map(5), maps_side_by_side([MapPanel(np.zeros((3, 2)), np.arange(3), ("a", "b", "c"), "t",
                                                        ("x", "y"))])):
        assert json.loads(figure.to_json())["layout"]["template"]["layout"]["plot_bgcolor"] == "white"


def test_side_by_side_maps_number_each_point_by_its_own_id_on_hover():
    rng = np.random.default_rng(3)
    ids = np.array([4021, 17, 9])
    with_ids = MapPanel(rng.normal(size=(3, 2)), np.array([1, 2, 3]), tuple("0123456789"), "AE", ("z0", "z1"), ids)
    without = MapPanel(rng.normal(size=(2, 2)), np.array([0, 1]), tuple("0123456789"), "VAE", ("z0", "z1"))
    first, second = (trace for trace in maps_side_by_side([with_ids, without]).data if trace.name == "images")
    assert list(first.customdata) == [4021, 17, 9] and list(second.customdata) == [0, 1]


@pytest.mark.parametrize("presenting", [False, True])
def test_a_maps_legend_is_a_row_above_it_without_groups_so_it_takes_none_of_the_maps_width(monkeypatch, presenting):
    from aecore.ui import presenter

    splits = np.array([0, 1, 0, 1, 0, 1])
    monkeypatch.setattr(presenter, "presenting", lambda: presenting)
    for figure in (_map(6, splits=splits), _map(6), _map(6, marker=(0.0, 0.0))):
        legend = figure.layout.legend
        assert (legend.orientation, legend.yanchor, legend.traceorder) == ("h", "bottom", "normal")
        assert not any(trace.legendgroup for trace in figure.data)  # a group's items would stack in a column


def test_a_selectable_map_names_the_modes_streamlit_would_set_after_drawing_it_and_a_plain_one_none():
    """Streamlit's chart sets clickmode, hovermode and dragmode on a selectable figure that leaves them out, which
    draws it a second time; a figure without selection must not select on click."""
    selectable, plain = _map(50, selectable=True), _map(50)
    assert (selectable.layout.clickmode, selectable.layout.hovermode, selectable.layout.dragmode) == (
        "event+select", "closest", "pan")
    assert plain.layout.clickmode is None and plain.layout.dragmode is None


def test_over_webgl_points_the_click_grid_stays_only_where_the_map_is_empty():
    """plotly.js lets an SVG click-grid point beside a WebGL data point win its hover and click."""
    from aecore.latent import grid_points

    rng = np.random.default_rng(2)
    points = rng.uniform([0, 0], [5, 10], size=(WEBGL_ABOVE + 1, 2))  # the left half of a 10 x 10 square, densely
    grid = grid_points((0.0, 10.0), (0.0, 10.0), 11)  # a point every 1.0
    kept = latent_map_figure(points, rng.integers(0, 10, len(points)), tuple("0123456789"), axis_labels=("x", "y"),
                             click_grid=grid).data[0]
    assert len(kept.x) and np.all(np.asarray(kept.x) > 5)  # the empty right half only
    assert len(kept.x) == np.sum(grid[:, 0] > 5.5)  # every empty cell keeps its point
    svg = latent_map_figure(points[:50], rng.integers(0, 10, 50), tuple("0123456789"), axis_labels=("x", "y"),
                            click_grid=grid).data[0]
    assert len(svg.x) == len(grid)  # SVG points win their own hover: the whole grid stays


def test_the_loss_chart_draws_a_plain_autoencoders_one_loss_once_and_names_each_part_of_a_vaes():
    from aecore.ui.charts import loss_figure

    plain = [{"epoch": e, "train": {"total": 1 / e, "reconstruction": 1 / e}, "val": {"total": 1.1 / e,
                                                                                      "reconstruction": 1.1 / e}}
             for e in (1, 2)]
    assert [t.name for t in loss_figure(plain, [(0.5, 1.2)]).data] == ["each step", "train", "validation"]
    vae = [{"epoch": 1, "train": {"total": 2.0, "reconstruction": 1.5, "kl": 0.5}, "val": {}}]
    assert [t.name for t in loss_figure(vae).data] == ["train total", "train reconstruction", "train kl"]


def test_the_loss_charts_log_axis_labels_only_one_two_and_five_of_each_decade():
    """Plotly's default labelled every digit of a range under a decade: "2, 0.1, 9, 8, 7, 6, 5, 4, 3"."""
    history = [{"epoch": epoch, "train": {"total": 0.1 / (epoch + 1)}, "val": {"total": 0.11 / (epoch + 1)}}
               for epoch in range(5)]
    axis = loss_figure(history).layout.yaxis
    assert (axis.type, axis.dtick, axis.tickformat) == ("log", "D2", ".2~g")
