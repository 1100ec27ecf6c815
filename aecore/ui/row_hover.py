"""Hover images on any latent map, whatever holds its images: a run on disk or a session's own data.

:func:`hover_rows` is :func:`aecore.ui.hover.hover_images` with the image of a
row asked of a function instead of a saved run, so a map of codes that belong
to no run folder (Your images, after training in the session) floats its images
too. It uses the same component (see :mod:`aecore.ui.hover`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import numpy as np
import streamlit as st

from aecore.pixels import png_bytes
from aecore.ui.charts import DATA_TRACE
from aecore.ui.hover import SIZE, wanted_row
from aecore.ui.hover import _hover as hover_component  # the one component; hover.py draws Explore's maps with it
from aecore.ui.widgets import image_strip


def image_url(pixels: np.ndarray) -> str:
    """A data URL of the PNG of one image's pixels (1, C, H, W) in [0, 1], about SIZE pixels wide."""
    scale = max(1, round(SIZE / pixels.shape[-1]))
    return "data:image/png;base64," + base64.b64encode(png_bytes(image_strip(pixels, scale=scale))).decode("ascii")


@st.fragment
def hover_rows(map_name: str, rows: int, image_of: Callable[[int], tuple[np.ndarray, str]], chart_key: str,
               key: str) -> None:
    """Float the image of the point hovered on the map drawn by ``st.plotly_chart(..., key=chart_key)`` beside the
    mouse. ``map_name`` names the map's rows (the browser keeps the images it has seen until it changes); the
    map has ``rows`` points; ``image_of(row)`` gives a row's pixels (1, C, H, W) in [0, 1] and caption."""
    row = wanted_row(st.session_state.get(key), map_name, rows)
    reply = {"row": None, "image": None, "caption": ""}
    if row is not None:
        pixels, caption = image_of(row)
        reply = {"row": row, "image": image_url(pixels), "caption": caption}
    hover_component(key=key, data={"chart": chart_key, "trace": DATA_TRACE, "map": map_name, "size": SIZE, **reply},
                    default={"want": None}, on_want_change=lambda: None)
