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

import streamlit as st

from aecore.latent import class_name
from aecore.latent_map import MapPoints
from aecore.pixels import png_bytes
from aecore.ui import cache
from aecore.ui.charts import DATA_TRACE
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
    const point = (event.points || []).find((p) => p.curveNumber === data.trace);
    if (!point) return;
    seen.row = point.pointIndex;
    if (event.event) { seen.x = event.event.clientX; seen.y = event.event.clientY; }
    show();
    if (timer === null) timer = setTimeout(ask, 50);
  };
  const unhover = () => { seen.row = null; show(); };
  let plot = null;
  const detach = () => {
    if (plot) { plot.removeListener('plotly_hover', hover); plot.removeListener('plotly_unhover', unhover); }
  };
  const attach = () => {  // the chart may be drawn after this component, or drawn anew
    const found = document.querySelector('.st-key-' + data.chart + ' .js-plotly-plot');
    if (!found || found === plot || typeof found.on !== 'function') return;
    detach();
    plot = found;
    plot.on('plotly_hover', hover);
    plot.on('plotly_unhover', unhover);
  };
  attach();
  const watch = setInterval(attach, 500);
  show();
  return () => { clearInterval(watch); clearTimeout(timer); detach(); };
}
"""
_CSS = """
.tip { position: fixed; z-index: 1000; display: none; padding: 6px; background: #ffffff; pointer-events: none;
       border: 2px solid #332288; border-radius: 6px; box-shadow: 0 2px 8px rgba(0,0,0,.35);
       font: 15px sans-serif; color: #222222; text-align: center; }
.tip img { display: block; image-rendering: pixelated; }
.caption { margin-top: 4px; max-width: 200px; }
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


def image_url(ref: cache.RunRef, points: MapPoints, row: int) -> str:
    """A data URL of the PNG of map row ``row``, about SIZE pixels wide."""
    pixels = cache.map_pixels(ref, points, [row])
    scale = max(1, round(SIZE / pixels.shape[-1]))
    return "data:image/png;base64," + base64.b64encode(png_bytes(image_strip(pixels, scale=scale))).decode("ascii")


@st.fragment
def hover_images(ref: cache.RunRef, points: MapPoints, class_names: tuple[str, ...], chart_key: str,
                 key: str) -> None:
    """Float the image of the point hovered on the latent map of ``points`` drawn by ``st.plotly_chart(...,
    key=chart_key)`` beside the mouse, with its name and class."""
    name = map_id(ref, points)
    row = wanted_row(st.session_state.get(key), name, len(points))
    reply = {"row": None, "image": None, "caption": ""}
    if row is not None:
        reply = {"row": row, "image": image_url(ref, points, row),
                 "caption": f"{points.name(row)}, class {class_name(class_names, int(points.labels[row]))}"}
    _hover(key=key, data={"chart": chart_key, "trace": DATA_TRACE, "map": name, "size": SIZE, **reply},
           default={"want": None}, on_want_change=lambda: None)
