"""`streamlit run serve.py` (what `make run` does): app.py behind a server prepared for a class.

Before the server accepts its first connection, every module the pages use is
imported (aecore.ui.startup.import_page_modules): no session's script ever
runs while another thread is still importing pandas or torch. Then a
background thread reads the test images Home shows. ``streamlit run app.py``
works too, without these preparations.
"""

from contextlib import asynccontextmanager

import streamlit as st

from aecore.ui.startup import import_page_modules, preload_in_background


@asynccontextmanager
async def _lifespan(_app):
    import_page_modules()
    preload_in_background()
    yield


app = st.App("app.py", lifespan=_lifespan)
