"""Plotly figures for the pages, sized and coloured for a projector (colours: :mod:`aecore.ui.palette`).

In the presenter view (:mod:`aecore.ui.presenter`) every figure's text is larger and its height capped, so that a
page's main chart fits a 1280x720 screen.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from aecore.latent import class_name
from aecore.latent_map import SPLIT_NAMES
from aecore.ui import palette, presenter
from aecore.ui.made_once import MadeOnce
from aecore.ui.palette import class_color

FONT = {"size": 18}
TEMPLATE = "plotly_white"
# The default template is applied as the figure is written out, with no checks; a template named on each figure
# is validated and deep-copied there, 12 ms of a latent map's 30.
pio.templates.default = TEMPLATE


def _class_colorscale(n: int) -> dict:
    """Marker settings that colour the integers 0..n-1 with CLASS_COLORS through a stepped colorscale.

    Numeric colours are validated as one array; a list of n colour strings is validated one by one,
    which took 0.1 s of a 2,000-point map's 0.15 s rerun.
    """
    scale = []
    for label in range(n):
        scale += [[label / n, class_color(label)], [(label + 1) / n, class_color(label)]]
    return {"colorscale": scale, "cmin": -0.5, "cmax": n - 0.5, "showscale": False}


def _layout_settings(title: str, height: int, presented_height: int = presenter.PRESENT_CHART_HEIGHT) -> dict:
    """The layout every figure shares: projector-sized type (larger while presenting), margins, legend."""
    scale = presenter.type_scale()
    legend = {"font": {"size": math.ceil(16 * scale)}}
    if not title:  # a map's legend: a row above the plot, which keeps the page's width (a column beside it took a
        # third of a laptop's map, more when a pick added an entry). "normal" order: a group's items would stack
        legend |= {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom",
                   "traceorder": "normal"}
    return {"title": {"text": title, "font": {"size": math.ceil(22 * scale)}},
            "font": {**FONT, "size": math.ceil(FONT["size"] * scale)},
            "height": presenter.chart_height(height, presented_height),
            "margin": {"l": 60, "r": 20, "t": 60 if title else 30, "b": 50}, "legend": legend}


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_xaxes(automargin=True)  # long axis titles in large type push the margins, never get clipped
    fig.update_yaxes(automargin=True)
    fig.update_layout(**_layout_settings(title, height))
    return fig


# px: the Train page's two live charts; while presenting, less, so that the reconstructions under them show
LIVE_HEIGHT, LIVE_PRESENT_HEIGHT = 380, 300


def _live_height() -> int:
    return LIVE_PRESENT_HEIGHT if presenter.presenting() else LIVE_HEIGHT


def loss_figure(history: list[dict] | tuple[dict, ...], step_losses=()) -> go.Figure:
    """Train (per step and per epoch) and validation curves of every loss part, log scale."""
    fig = go.Figure()
    if step_losses:
        x, y = zip(*step_losses, strict=True)
        fig.add_trace(scatter_type(len(x))(x=x, y=y, mode="lines", name="each step",
                                           line={"color": palette.LIGHT_GREY, "width": 1}))
    epochs = [record["epoch"] for record in history]
    parts = list(history[-1]["train"]) if history else []
    if set(parts) == {"total", "reconstruction"}:  # no other term: the two curves are one
        parts = ["total"]
    for part in parts:
        color = palette.LOSS_PART_COLORS.get(part, palette.DARK_GREY)
        width = 4 if part == "total" else 2
        suffix = "" if parts == ["total"] else f" {part}"
        fig.add_trace(go.Scatter(x=epochs, y=[r["train"].get(part) for r in history], mode="lines+markers",
                                 name=f"train{suffix}", line={"color": color, "width": width}))
        if history[-1]["val"]:
            fig.add_trace(go.Scatter(x=epochs, y=[r["val"].get(part) for r in history], mode="lines+markers",
                                     name=f"validation{suffix}", line={"color": color, "width": width, "dash": "dash"}))
    fig.update_xaxes(title="epoch", rangemode="tozero")
    # labels at 1, 2 and 5 of each decade, written out ("0.02"): plotly's default labelled every digit of a short
    # range in small type ("2, 0.1, 9, 8, 7, ...")
    fig.update_yaxes(title="loss", type="log", dtick="D2", tickformat=".2~g")
    return _layout(fig, "Loss", height=_live_height())


def latent_figure(points: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...], title: str) -> go.Figure:
    """A scatter of 2-D points, one trace per class so the legend names each colour."""
    fig = go.Figure()
    for label in np.unique(labels):
        mask = labels == label
        name = class_name(class_names, label)
        fig.add_trace(scatter_type(len(points))(x=points[mask, 0], y=points[mask, 1], mode="markers", name=name,
                                                marker={"color": class_color(label), "size": 7, "opacity": 0.8}))
    fig.update_xaxes(title="z₀" if "PCA" not in title else "PC 1")
    fig.update_yaxes(title="z₁" if "PCA" not in title else "PC 2")
    return _layout(fig, title, height=_live_height())


# what Streamlit's chart sets when a figure with on_select and the "points" mode leaves them out (its PlotlyChart)
SELECTABLE_MODES = {"clickmode": "event+select", "hovermode": "closest", "dragmode": "pan"}
MAP_MARGINS = {"l": 96, "b": 72}  # px: the widest tick labels (t-SNE's "-100") and the axis titles fit
# More points than this are drawn with WebGL (fast); fewer as SVG, which takes no WebGL context. A live chart redrawn
# every second with WebGL made a new context each time: the browser's main thread was busy about 0.9 s of each second
# of a training page (software WebGL, measured in Chromium's profiler, mostly in getContext)
WEBGL_ABOVE = 3000
FIGURES = MadeOnce(kept=64)  # small figures that every session following the teacher draws alike
MAPS = MadeOnce(kept=8)  # latent maps (up to 70,000 points: megabytes each), likewise
OTHER_SPLITS_OPACITY = 0.4  # training and validation points beside the solid, outlined test points
SPLIT_OUTLINE = palette.NEAR_BLACK


def scatter_type(n: int) -> type[go.Scatter] | type[go.Scattergl]:
    """The trace class for n points: WebGL above WEBGL_ABOVE, SVG below."""
    return go.Scattergl if n > WEBGL_ABOVE else go.Scatter


def _trace_type(n: int) -> str:
    """The trace type (as a figure dict names it) for n points: WebGL above WEBGL_ABOVE, SVG below."""
    return "scattergl" if n > WEBGL_ABOVE else "scatter"


def _points_trace(points: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...], *,
                  point_ids: np.ndarray | None, webgl: bool | None = None) -> dict:
    """The points of one of :func:`maps_side_by_side`'s maps in one trace (so point indices are row indices),
    coloured by class. ``webgl``: WebGL or SVG (None: by the number of points)."""
    names = np.array([class_name(class_names, label) for label in range(int(labels.max()) + 1 if len(labels) else 1)])
    # small integer types: a large map's arrays travel base64-encoded, a byte or four a point
    marker = {"color": labels.astype(np.uint8 if len(names) <= 256 else np.int32), **_class_colorscale(len(names)),
              "size": 7, "opacity": 0.85, "line": {"width": 0}}
    ids = np.arange(len(labels)) if point_ids is None else point_ids
    kind = _trace_type(len(points)) if webgl is None else "scattergl" if webgl else "scatter"
    return {"type": kind, "x": points[:, 0], "y": points[:, 1], "mode": "markers", "showlegend": False,
            "name": "images", "marker": marker, "customdata": np.asarray(ids, dtype=np.int32),
            "hovertext": names[labels], "hovertemplate": "class %{hovertext}<br>image #%{customdata}<extra></extra>"}


def _clear_of_points(grid: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The points of an even grid (G, 2) whose cell (the grid's spacing around each) holds none of ``points``.

    Over WebGL points the click grid stays only where the map is empty: plotly.js measures an SVG marker's hover
    distance from its edge and a WebGL one's from its centre, so a click-grid point (SVG) beside a data point won
    its hover and clicks, and the hover image and a point's pick never came."""
    xs, ys = np.unique(grid[:, 0]), np.unique(grid[:, 1])
    if len(xs) < 2 or len(ys) < 2 or not len(points):
        return grid
    step = np.array([xs[1] - xs[0], ys[1] - ys[0]])
    occupied = np.zeros((len(xs), len(ys)), dtype=bool)
    cells = np.rint((points - [xs[0], ys[0]]) / step).astype(np.int64)  # (N, 2) column and row of each point
    inside = np.all((cells >= 0) & (cells < [len(xs), len(ys)]), axis=1)
    occupied[cells[inside, 0], cells[inside, 1]] = True
    own = np.rint((grid - [xs[0], ys[0]]) / step).astype(np.int64)
    return grid[~occupied[own[:, 0], own[:, 1]]]


def _split_style(split: int | None) -> dict:
    """Marker size, opacity and outline of the points of a split (None: of a map of one split only)."""
    if split is None:
        return {"size": 7, "opacity": 0.85, "line": {"width": 0}}
    if split == 0:
        return {"size": 8, "opacity": 0.95, "line": {"width": 1, "color": SPLIT_OUTLINE}}
    return {"size": 6, "opacity": OTHER_SPLITS_OPACITY, "line": {"width": 0}}


def _class_traces(points: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...], *,
                  point_ids: np.ndarray | None, splits: np.ndarray | None, split_names: tuple[str, ...],
                  drawn_rows: np.ndarray | None = None) -> list[dict]:
    """The map's points as a trace per class, or per class and split when ``splits`` (N,) holds several: test
    points (split 0) solid, outlined and drawn last, the others faint. Each trace has one colour, size and
    opacity: plotly.js styles a trace whose marker varies from point to point one point at a time (0.5 s of a
    70,000-point draw in software WebGL), a uniform one at once. Each point's customdata is [row, id]: its row
    in ``points`` (what hover and selections report) and the number its hover label shows. Only ``drawn_rows``
    are drawn, when given."""
    kind = _trace_type(len(points))
    xy = np.asarray(points, dtype=np.float32)  # 4 bytes a coordinate in the JSON, not 8: ample for a screen
    ids = np.arange(len(labels)) if point_ids is None else np.asarray(point_ids)
    customdata = np.stack([np.arange(len(labels)), ids], axis=1).astype(np.int32)  # (N, 2), base64 in the JSON
    several = splits is not None and len(np.unique(splits)) > 1
    drawn = np.ones(len(labels), dtype=bool) if drawn_rows is None else np.isin(np.arange(len(labels)), drawn_rows)
    groups = [(int(split), int(label)) for split in sorted(np.unique(splits), key=lambda split: split == 0)
              for label in np.unique(labels)] if several else [(None, int(label)) for label in np.unique(labels)]
    traces = []
    for split, label in groups:
        rows = np.flatnonzero((labels == label) & (True if split is None else splits == split) & drawn)
        if not len(rows):
            continue
        named = class_name(class_names, label) + ("" if split is None else f", {split_names[split]}")
        traces.append({"type": kind, "x": xy[rows, 0], "y": xy[rows, 1], "mode": "markers",
                       "showlegend": False, "name": "images", "customdata": customdata[rows],
                       "marker": {"color": class_color(label), **_split_style(split)},
                       "hovertemplate": f"class {named}<br>image #%{{customdata[1]}}<extra></extra>"})
    return traces


def _legend_entries(labels: np.ndarray, class_names: tuple[str, ...], splits: np.ndarray | None,
                    split_names: tuple[str, ...]) -> list[dict]:
    """Legend-only traces: a colour per class, and, for points of several splits, how each split is drawn (in
    the legend's row, ungrouped: a group's items would stack in a column)."""
    several_splits = splits is not None and len(np.unique(splits)) > 1
    entries = [{"type": "scatter", "x": [None], "y": [None], "mode": "markers", "hoverinfo": "skip",
                "name": class_name(class_names, label), "marker": {"color": class_color(label), "size": 10}}
               for label in np.unique(labels)]
    for split in np.unique(splits) if several_splits else ():
        test = split == 0
        entries.append({
            "type": "scatter", "x": [None], "y": [None], "mode": "markers", "hoverinfo": "skip",
            "name": f"{split_names[split]} (outlined)" if test else f"{split_names[split]} (faint)",
            "marker": {"color": palette.MID_GREY, "size": 10, "opacity": 0.95 if test else OTHER_SPLITS_OPACITY,
                       "line": {"width": 1 if test else 0, "color": SPLIT_OUTLINE}}})
    return entries


def latent_map_figure(points: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...], *,
                      axis_labels: tuple[str, str], click_grid: np.ndarray | None = None,
                      background=None, bounds: tuple[float, float, float, float] | None = None,
                      marker: tuple[float, float] | None = None, marker_name: str = "decoded here", title: str = "",
                      point_ids: np.ndarray | None = None, splits: np.ndarray | None = None,
                      split_names: tuple[str, ...] = SPLIT_NAMES, selectable: bool = False, height: int = 600,
                      presented_height: int = presenter.PRESENT_CHART_HEIGHT,
                      drawn_rows: np.ndarray | None = None) -> go.Figure:
    """The latent map: its points coloured by class, a trace per class (and split, see below), WebGL above
    WEBGL_ABOVE points and SVG below; each point's customdata is [row, id] (see :func:`aecore.ui.map_pick.read_pick`).

    ``click_grid`` (G, 2) adds an invisible dense grid under the points so that a click on empty
    space still selects something (Plotly reports points, not positions); ``background`` (PNG bytes, or a PIL
    image, which is encoded on every call) is drawn under everything over ``bounds`` = (x0, x1, y0, y1); ``marker``
    stars a spot (above every point), named ``marker_name`` in the legend;
    ``point_ids`` (e.g. test-set indices) are shown on hover instead of row numbers; ``splits`` (N,) (indices
    into ``split_names``, 0 the test split) draws the test points solid and outlined and the others faint when
    there are several, and the legend says so. ``selectable``: for a chart drawn with ``on_select`` and the "points"
    selection mode, the figure names the modes Streamlit's chart would otherwise set after its first draw, a
    second draw (0.75 s more at 70,000 points in software WebGL). ``height`` and ``presented_height``: the figure's
    height in pixels, and while presenting. ``drawn_rows``: the rows drawn (a live map's sample,
    :attr:`aecore.latent_map.LatentMap.drawn_rows`); None: all.

    The figure is written as one dict and checked once: built trace by trace, Plotly's checks took most of a rerun.
    Its margins leave room for the axes' labels: plotly.js draws a figure whose labels push a margin twice
    (0.8 s more for 70,000 points in software WebGL). It is made once for the process for the same arguments and
    view (a class following the teacher draws the same map thirty times): never change it.
    """
    arguments = dict(locals())
    parts = [part for name, value in arguments.items() for part in (name, value)]
    return MAPS.get(lambda: _latent_map_figure(**arguments), *parts, presenter.presenting())


def _latent_map_figure(points: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...], *,
                       axis_labels: tuple[str, str], click_grid: np.ndarray | None, background, bounds, marker,
                       marker_name: str, title: str, point_ids: np.ndarray | None, splits: np.ndarray | None,
                       split_names: tuple[str, ...], selectable: bool, height: int, presented_height: int,
                       drawn_rows: np.ndarray | None) -> go.Figure:
    grid = click_grid if click_grid is not None else np.zeros((0, 2))
    if _trace_type(len(points)) == "scattergl":
        grid = _clear_of_points(grid, points)
    data = [  # SVG, not WebGL: invisible WebGL markers are not picked by clicks
        {"type": "scatter", "x": grid[:, 0], "y": grid[:, 1], "mode": "markers", "hoverinfo": "none",
         "showlegend": False, "marker": {"size": 14, "opacity": 0.0, "color": palette.BLACK}, "name": "anywhere"},
        *_class_traces(points, labels, class_names, point_ids=point_ids, splits=splits, split_names=split_names,
                       drawn_rows=drawn_rows),
        *_legend_entries(labels, class_names, splits, split_names)]
    if marker is not None:  # the last trace, of the points' kind: drawn above them (a WebGL layer covers SVG traces)
        data.append({"type": _trace_type(len(points)), "x": [marker[0]], "y": [marker[1]], "mode": "markers",
                     "name": marker_name, "hoverinfo": "skip", "marker": {
                         "symbol": "star", "size": 28, "color": palette.VERMILION,
                         "line": {"color": palette.WHITE, "width": 2}}})
    x_axis = {"title": {"text": axis_labels[0]}, "automargin": True}
    y_axis = {"title": {"text": axis_labels[1]}, "automargin": True}
    layout = _layout_settings(title, height, presented_height) | {"xaxis": x_axis, "yaxis": y_axis}
    scale = presenter.type_scale()
    layout["margin"] |= {"l": math.ceil(MAP_MARGINS["l"] * scale), "b": math.ceil(MAP_MARGINS["b"] * scale)}
    if selectable:
        layout |= SELECTABLE_MODES
    if bounds is not None:
        x0, x1, y0, y1 = bounds
        x_axis["range"], y_axis["range"] = [x0, x1], [y0, y1]
        if background is not None:
            if isinstance(background, bytes):  # as a data URI, which Plotly takes as it is
                background = "data:image/png;base64," + base64.b64encode(background).decode("ascii")
            layout["images"] = [{"source": background, "xref": "x", "yref": "y", "x": x0, "y": y1, "sizex": x1 - x0,
                                 "sizey": y1 - y0, "sizing": "stretch", "layer": "below", "opacity": 0.9}]
    return go.Figure({"data": data, "layout": layout})


@dataclass(frozen=True)
class MapPanel:
    """One map of :func:`maps_side_by_side`: its points (N, 2), their classes, the map's titles, and what the
    hover label numbers each point by (e.g. its test-set index; None: its row)."""

    points: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    title: str
    axis_labels: tuple[str, str]
    point_ids: np.ndarray | None = None


def maps_side_by_side(panels: list[MapPanel] | tuple[MapPanel, ...]) -> go.Figure:
    """Latent maps as subplots of one figure, so that however many points they hold, the page has one figure
    (plotly.js gives a figure's WebGL traces one set of canvases, while each figure takes its own)."""
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[panel.title for panel in panels],
                        horizontal_spacing=0.08)
    webgl = any(len(panel.points) > WEBGL_ABOVE for panel in panels)  # one kind for all: one GL scene or none
    legend = {}
    for column, panel in enumerate(panels, start=1):
        trace = _points_trace(panel.points, panel.labels, panel.class_names, point_ids=panel.point_ids, webgl=webgl)
        fig.add_trace(trace, row=1, col=column)  # a dict, checked here
        fig.update_xaxes(title=panel.axis_labels[0], row=1, col=column)
        fig.update_yaxes(title=panel.axis_labels[1], row=1, col=column)
        legend |= {class_name(panel.class_names, label): label for label in np.unique(panel.labels)}
    for name, label in legend.items():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
                                 marker={"color": class_color(label), "size": 10}))
    return _layout(fig, "", height=560)


def path_distance_figure(distances: np.ndarray, typical: float, position: float | None = None) -> go.Figure:
    """Distance to the nearest training code along an interpolation path, with the typical distance
    and, optionally, the position of the image shown. Made once for the process (a third of Interpolate's time
    when a class follows the teacher): never change the figure."""
    return FIGURES.get(lambda: _path_distance_figure(distances, typical, position), distances, typical, position,
                       presenter.presenting())  # its type and height follow the view


def _path_distance_figure(distances: np.ndarray, typical: float, position: float | None) -> go.Figure:
    steps = np.linspace(0, 1, len(distances))
    fig = go.Figure(go.Scatter(x=steps, y=distances, mode="lines+markers", name="along the path",
                               line={"color": palette.INDIGO, "width": 4}))
    fig.add_hline(y=typical, line={"color": palette.ROSE, "dash": "dash", "width": 3},
                  annotation_text="a typical test image", annotation_font_size=16)
    fig.update_xaxes(title="position along the path (0 = start, 1 = end)")
    if position is not None:
        fig.add_vline(x=position, line={"color": palette.GREEN, "width": 3})
    fig.update_yaxes(title="distance to data", rangemode="tozero")
    return _layout(fig, "Where the decoder leaves the data", height=340)


def activation_histogram(rho_hat: np.ndarray, rho: float | None, title: str) -> go.Figure:
    """Histogram of each code unit's mean activation, with the sparsity target rho when there is one."""
    fig = go.Figure(go.Histogram(x=rho_hat, nbinsx=40, marker={"color": palette.INDIGO}, name="units"))
    if rho is not None:
        fig.add_vline(x=rho, line={"color": palette.ROSE, "dash": "dash", "width": 3},
                      annotation_text=f"target ρ = {rho:g}", annotation_font_size=16)
    fig.update_xaxes(title="mean activation ρ̂ of a unit")
    fig.update_yaxes(title="units")
    return _layout(fig, title, height=340)


def bar_figure(values: np.ndarray, title: str, x_title: str, y_title: str, threshold: float | None = None) -> go.Figure:
    """One bar per item (e.g. KL per latent dimension), with an optional threshold line."""
    fig = go.Figure(go.Bar(x=[str(i) for i in range(len(values))], y=values, marker={"color": palette.GREEN}))
    if threshold is not None:
        fig.add_hline(y=threshold, line={"color": palette.ROSE, "dash": "dash", "width": 3})
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title)
    return _layout(fig, title, height=340)


def psnr_figure(rows: list[tuple[float, float, float]], kind: str) -> go.Figure:
    """PSNR of noisy inputs and of their reconstructions against the noise level."""
    levels, noisy, denoised = (list(column) for column in zip(*rows, strict=True))
    fig = go.Figure([
        go.Scatter(x=levels, y=noisy, mode="lines+markers", name="noisy input",
                   line={"color": palette.ROSE, "width": 3}),
        go.Scatter(x=levels, y=denoised, mode="lines+markers", name="denoised",
                   line={"color": palette.GREEN, "width": 4}),
    ])
    fig.update_xaxes(title=f"{kind.replace('_', ' ')} noise level")
    fig.update_yaxes(title="PSNR (dB)")
    return _layout(fig, "PSNR against the clean image: higher is cleaner", height=360)


def heatmap_figure(values: np.ndarray, rows: list[str], columns: list[str], title: str) -> go.Figure:
    """A labelled heatmap with each cell's value written in it."""
    fig = go.Figure(go.Heatmap(z=values, x=columns, y=rows, colorscale="Viridis", text=np.round(values, 1),
                               texttemplate="%{text}", textfont={"size": 18}, colorbar={"title": "dB"}))
    fig.update_xaxes(title="test noise level")
    fig.update_yaxes(title="trained with")
    return _layout(fig, title, height=120 + 60 * len(rows))


def accuracy_figure(scores: dict[str, float], title: str) -> go.Figure:
    """One bar per method, labelled with its accuracy."""
    fig = go.Figure(go.Bar(x=list(scores), y=list(scores.values()),
                           marker={"color": list(palette.METHOD_COLORS[:len(scores)])},
                           text=[f"{value:.1%}" for value in scores.values()], textposition="outside",
                           textfont={"size": 18}))
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", title="test accuracy")
    return _layout(fig, title, height=380)
