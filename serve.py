"""`streamlit run serve.py` (what `make run` does): app.py behind a server that warms up as it starts.

The warm-up (aecore.ui.startup) imports torch, reads MNIST and compiles UMAP in
a background thread while the browser is still loading, so the first page
appears sooner and the first UMAP map does not stall. ``streamlit run app.py``
works too; it warms up when the first browser connects.
"""

from contextlib import asynccontextmanager

import streamlit as st

from aecore.ui.startup import preload_in_background


@asynccontextmanager
async def _lifespan(_app):
    preload_in_background()
    yield


app = st.App("app.py", lifespan=_lifespan)
