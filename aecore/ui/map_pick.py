"""What a click or a box/lasso on a latent map picked: Plotly reports points, never positions, so the map
(:func:`aecore.ui.charts.latent_map_figure`) lays an invisible grid under its points, and a pick is read back here."""

from __future__ import annotations

from dataclasses import dataclass

DATA_TRACE = 1  # curve number of the first trace of points in latent_map_figure (0 is the invisible click grid)


@dataclass(frozen=True)
class MapPick:
    """What a click or a box/lasso on the latent map picked."""

    position: tuple[float, float] | None = None  # the clicked spot (single click only)
    rows: tuple[int, ...] = ()  # data points picked (rows of the map's sample)


def _row(point: dict, data_trace: int) -> int | None:
    """The map row of a selected point: the first number of its customdata in :func:`latent_map_figure`, the point
    index in a map drawn as the one trace ``data_trace``; None for other points (the click grid)."""
    data = point.get("customdata")
    if isinstance(data, dict):  # a typed array as the browser writes it to JSON: {"0": row, "1": id}
        data = [data[key] for key in sorted(data, key=int)]
    if isinstance(data, (list, tuple)) and len(data) == 2:
        return int(data[0])
    return int(point["point_index"]) if point.get("curve_number") == data_trace else None


def read_pick(event, data_trace: int = DATA_TRACE) -> MapPick:
    """Interpret a Plotly selection event on :func:`aecore.ui.charts.latent_map_figure` (a PlotlyState, or the
    plain dict AppTest injects)."""
    selection = event["selection"] if event else None
    if not selection:
        return MapPick()
    points = selection.get("points", [])
    rows = tuple(row for row in (_row(point, data_trace) for point in points) if row is not None)
    dragged = bool(selection.get("box") or selection.get("lasso"))
    if len(points) == 1 and not dragged:
        return MapPick(position=(float(points[0]["x"]), float(points[0]["y"])), rows=rows)
    return MapPick(rows=rows)
