"""Hover images: hovering a point of a latent map shows its image beside the mouse.

Plotly's own hover label holds text only. A small component (Streamlit
Components v2: inline JS in the page, no iframe, nothing fetched) listens to the
chart's ``plotly_hover`` events (plotly.js already on the page draws the chart),
asks for the hovered row's image, and floats it beside the mouse with its name.
The component lives in a fragment, so each request reruns the fragment only:
one small PNG per newly hovered point, at any map size, and the images already
seen are kept in the browser for the map shown. The chart keeps its own events
(click, box, lasso) untouched.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import numpy as np
import streamlit as st

from aecore.latent import class_name
from aecore.latent_map import MapPoints
from aecore.ui import cache, palette
from aecore.ui.map_pick import DATA_TRACE
from aecore.ui.widgets import image_strip

_JS = """
const maps = new Map();  // component key -> {map, images: row -> [url, caption], row, x, y, asked}

export default function ({ data, key, parentElement, setStateValue }) {
  const tip = parentElement.querySelector('.tip');
  const picture = tip.querySelector('img');
  const caption = tip.querySelector('.caption');
  let seen = maps.get(key);
  if (!seen || seen.map !== data.map) {
    seen = { map: data.map, images: new Map(), row: null, x: 0, y: 0, asked: null };
    maps.set(key, seen);
  }
  if (data.row !== null && data.image) seen.images.set(data.row, [data.image, data.caption]);
  const show = () => {
    if (seen.row === null) { tip.style.display = 'none'; return; }
    const width = data.size + 16;
    tip.style.display = 'block';
    // above the mouse (Plotly's own label sits beside the point), below it near the window's top
    tip.style.left = Math.max(4, Math.min(seen.x - width / 2, window.innerWidth - width - 4)) + 'px';
    const above = seen.y - data.size - 60;
    tip.style.top = (above >= 4 ? above : seen.y + 30) + 'px';
    const image = seen.images.get(seen.row);
    picture.style.visibility = image ? 'visible' : 'hidden';
    if (image) { picture.src = image[0]; picture.style.width = data.size + 'px'; }
    caption.textContent = image ? image[1] : 'image #' + seen.row + '…';
  };
  let timer = null;
  const ask = () => {
    timer = null;
    if (seen.row === null || seen.images.has(seen.row) || seen.asked === seen.row) return;
    seen.asked = seen.row;
    setStateValue('want', { row: seen.row, map: data.map, at: Date.now() });
  };
  const hover = (event) => {
    // latent_map_figure's points carry [row, id] as customdata; a map drawn as one trace: curve data.trace
    const rowOf = (p) => (p.customdata && p.customdata.length === 2 ? Number(p.customdata[0]) : null);
    const point = (event.points || []).find((p) => rowOf(p) !== null || p.curveNumber === data.trace);
    if (!point) return;
    seen.row = rowOf(point) ?? point.pointIndex;
    if (event.event) { seen.x = event.event.clientX; seen.y = event.event.clientY; }
    show();
    if (timer === null) timer = setTimeout(ask, 50);
  };
  const unhover = () => { seen.row = null; show(); };
  // The chart listened to, and its `on`: a chart drawn anew (the page's finished map replacing a fragment's live
  // one) is a new element, and the old one was purged, its removeListener gone; a plot purged and drawn again in
  // the same element gets a new `on`, without our listeners.
  let plot = null;
  let plotOn = null;
  const detach = () => {
    if (plot && typeof plot.removeListener === 'function') {
      plot.removeListener('plotly_hover', hover);
      plot.removeListener('plotly_unhover', unhover);
    }
    plot = null;
  };
  const attach = () => {  // the chart may be drawn after this component, or drawn anew
    const found = document.querySelector('.st-key-' + data.chart + ' .js-plotly-plot');
    if (!found || typeof found.on !== 'function' || (found === plot && found.on === plotOn)) return;
    if (plot) unhover();  // the point under the mouse went with the old chart
    detach();
    plot = found;
    plotOn = found.on;
    plot.on('plotly_hover', hover);
    plot.on('plotly_unhover', unhover);
  };
  attach();
  const watch = setInterval(attach, 500);
  show();
  return () => { clearInterval(watch); clearTimeout(timer); detach(); };
}
"""
_CSS = f"""
.tip {{ position: fixed; z-index: 1000; display: none; padding: 6px; background: {palette.WHITE}; pointer-events: none;
       border: 2px solid {palette.INDIGO}; border-radius: 6px; box-shadow: 0 2px 8px rgba(0,0,0,.35);
       font: 15px sans-serif; color: {palette.NEAR_BLACK}; text-align: center; }}
.tip img {{ display: block; image-rendering: pixelated; }}
.caption {{ margin-top: 4px; max-width: 200px; }}
"""
_HTML = "<div class='tip' data-testid='hover-image'><img alt='hovered image'><div class='caption'></div></div>"
_hover = st.components.v2.component("aecore_hover_image", html=_HTML, css=_CSS, js=_JS)
SIZE = 112  # pixels of the floating image (28x28 at 4x)


def map_id(ref: cache.RunRef, points: MapPoints) -> str:
    """What names a map's rows: the run's images and the sample of them."""
    return f"{ref.path}|{points.selection}"


def wanted_row(value, map_name: str, rows: int) -> int | None:
    """The row the component asks for (its state ``value``), if it is a row of the map named ``map_name``."""
    want = value.get("want") if hasattr(value, "get") else getattr(value, "want", None)
    if not want or want.get("map") != map_name:
        return None
    row = want.get("row")
    return int(row) if isinstance(row, int) and 0 <= row < rows else None


def pixels_url(pixels: np.ndarray) -> str:
    """A data URL of the PNG of one image's pixels (1, C, H, W) in [0, 1], about SIZE pixels wide."""
    scale = max(1, round(SIZE / pixels.shape[-1]))
    return "data:image/png;base64," + base64.b64encode(image_strip(pixels, scale=scale)).decode("ascii")


@st.fragment
def hover_rows(map_name: str, rows: int, image_of: Callable[[int], tuple[np.ndarray, str]], chart_key: str,
               key: str, trace: int = DATA_TRACE) -> None:
    """Float the image of the point hovered on the map drawn by ``st.plotly_chart(..., key=chart_key)`` beside
    the mouse, whatever holds its images (a saved run, or a session's own data).

    ``map_name`` names the map's rows (the browser keeps the images it has seen until it changes); the map has
    ``rows`` points, in the figure's curve ``trace``; ``image_of(row)`` gives a row's pixels (1, C, H, W) in
    [0, 1] and its caption."""
    row = wanted_row(st.session_state.get(key), map_name, rows)
    reply = {"row": None, "image": None, "caption": ""}
    if row is not None:
        pixels, caption = image_of(row)
        reply = {"row": row, "image": pixels_url(pixels), "caption": caption}
    _hover(key=key, data={"chart": chart_key, "trace": trace, "map": map_name, "size": SIZE, **reply},
           default={"want": None}, on_want_change=lambda: None)


def hover_images(ref: cache.RunRef, points: MapPoints, class_names: tuple[str, ...], chart_key: str,
                 key: str, trace: int = DATA_TRACE) -> None:
    """:func:`hover_rows` on the latent map of ``points`` of a saved run: each image with its name and class.

    ``trace`` is the curve number of the map's points in the figure: :data:`DATA_TRACE` in
    :func:`aecore.ui.charts.latent_map_figure`; in :func:`aecore.ui.charts.maps_side_by_side`, the panel's index,
    one call per panel (each with its own ``key``) on the same chart."""
    def image_of(row: int) -> tuple[np.ndarray, str]:
        caption = f"{points.name(row)}, class {class_name(class_names, int(points.labels[row]))}"
        return cache.map_pixels(ref, points, [row]), caption

    hover_rows(map_id(ref, points), len(points), image_of, chart_key, key, trace)
