"""`streamlit run serve.py` (what `make run` does): app.py behind a server that warms up as it starts.

As the server starts, a background thread (aecore.ui.startup) imports torch and
reads the test images Home shows while the browser is still loading the page,
so the first page appears sooner. ``streamlit run app.py`` works too, a second
or so slower to its first page. Either way app.py warms the map pages up a few
seconds after its first page is drawn.
"""

from contextlib import asynccontextmanager

import streamlit as st

from aecore.ui.startup import preload_in_background


@asynccontextmanager
async def _lifespan(_app):
    preload_in_background()
    yield


app = st.App("app.py", lifespan=_lifespan)
