"""The sidebar's Share button, a dialog with the page's link and its QR code, beside the presenter-view toggle."""

from __future__ import annotations

import io
from collections.abc import Mapping
from urllib.parse import urlencode

import streamlit as st

from aecore.ui.composite_state import PRESENT
from aecore.ui.links import wanted_params
from aecore.ui.presenter import present_toggle


def share_link(base: str, params: Mapping[str, str]) -> str:
    """``base`` (the page's URL) with ``params`` as its query string."""
    return f"{base}?{urlencode(params)}" if params else base


def qr_png(text: str, size: int = 480) -> bytes:
    """A QR code of ``text`` as PNG bytes about ``size`` pixels wide: black modules on white, each a whole number
    of pixels (sharp when shown at its own size), inside the standard 4-module quiet zone. The smallest symbol
    that holds the text (fewest, so largest, modules: what a phone at the back of a room needs), its error
    correction then raised as far as that symbol allows (segno's ``boost_error``)."""
    import segno  # here, not at the top: its import (0.16 s) would hold up every server's first page

    code = segno.make_qr(text, error="l", boost_error=True)
    modules = code.symbol_size(border=4)[0]
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=max(4, size // modules), border=4)
    return buffer.getvalue()


@st.dialog("Share this view", width="large")
def _share_dialog(link: str) -> None:
    qr_column, text_column = st.columns([3, 2])
    qr_column.image(qr_png(link), caption="Scan it to open this page as it is now")
    text_column.markdown("**The link** opens this page with the same model, maps, choices and settings, "
                         "in any browser that reaches this server (in the plain view, not the presenter's).")
    text_column.code(link, language=None, wrap_lines=True)


def sidebar_tools(path: str, url_path: str) -> None:
    """The sidebar's Share button (a dialog with the page's link and its QR code) and the presenter-view toggle."""
    with st.sidebar:
        share_column, present_column = st.columns(2, vertical_alignment="center")
        if share_column.button("Share", icon=":material/qr_code_2:", key="share_view", width="stretch",
                               help="A link and a QR code that open this page as it is now"):
            params = {name: text for name, text in wanted_params(path).items() if name != PRESENT.param}
            _share_dialog(share_link(st.context.url or f"/{url_path}", params))  # students get the plain view
        with present_column:
            present_toggle()
