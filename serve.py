"""`streamlit run serve.py` (what `make run` does): app.py behind a server that prepares as it starts.

As the server starts, a background thread imports the warm-up (aecore.ui.warm_up: torch
and the engine) and starts it: it imports every module the pages use, then reads the
test images Home shows, while the first browser is still loading the page; app.py
waits for those imports before any page code runs, so no script ever races them. The
server answers meanwhile: nothing here imports torch. ``streamlit run app.py`` works
too: its first script does the imports itself, a second or so slower to the first page.
"""

import importlib
import threading
from contextlib import asynccontextmanager

import streamlit as st
from starlette.middleware import Middleware

from aecore.thread_dumps import dump_threads_on_sigusr1
from aecore.ui.browser_cookie import BrowserKeyCookie
from aecore.ui.run_handover import deliver_finished_runs
from aecore.ui.stale_fragment_runs import skip_stale_fragment_runs
from aecore.ui.websocket_guard import EndLeftWebsockets

WARM_UP = "aecore.ui.warm_up"


def _warm_up() -> None:
    importlib.import_module(WARM_UP).import_in_background()


@asynccontextmanager
async def _lifespan(_app):
    threading.Thread(target=_warm_up, name="aecore-warm-up-import", daemon=True).start()
    yield


dump_threads_on_sigusr1()  # `kill -USR1 <pid>`: every thread's stack into the log (a server that seems stuck)
deliver_finished_runs()  # a busy server's fragment reruns no longer drop a finished run's page (a lost Start)
skip_stale_fragment_runs()  # nor does a tick sent for the page shown before the server switched it blank the new one
# the key with the page; a websocket whose tab closed ends without a traceback in the log
app = st.App("app.py", lifespan=_lifespan, middleware=[Middleware(BrowserKeyCookie), Middleware(EndLeftWebsockets)])
