"""A following page's script waits for the server to send what is already queued before it draws its page.

When the teacher's view changes, thirty following pages run at once (:mod:`aecore.ui.session_wake`). Their scripts
are Python threads that share one interpreter lock with the single event loop that sends every session's messages,
so the loop got about a thirty-first of it: once a page's pictures and charts came from the process's memos (pure
Python, nothing that lets go of the lock), no student's page showed until the last of the thirty scripts had ended
(traced: every title arrived with the last body, 1.5-2.9 s after the teacher's click on Interpolate).

:func:`catch_up`, called before a following page's body, hands the event loop a marker and waits (without the lock)
until the loop reaches it, twice: the first time it has handled the messages queued before the marker, the second
time it has also had a turn to send them. So what the thirty runs drew before their bodies (the page switch, the
sidebar) goes out before thirty bodies crowd the loop (``bench.follow``, an A/B: p95 2.95 s without, 1.30 s with;
bench/README.md). The bodies still run side by side afterwards. The wait is bounded (``timeout_s`` a marker);
outside a Streamlit server (AppTest) there is no loop and nothing waits.
"""

from __future__ import annotations

import asyncio
import threading

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

MARKERS = 2  # the queued messages handled, then sent
MARKER_TIMEOUT_S = 1.0  # a marker the loop has not reached by then is not waited for any longer


def catch_up(timeout_s: float = MARKER_TIMEOUT_S) -> None:
    """In a page's script: wait until this session's event loop has handled, then sent, what was queued so far."""
    ctx = get_script_run_ctx(suppress_warning=True)
    sessions = getattr(Runtime.instance(), "_session_mgr", None) if Runtime.exists() else None
    if ctx is None or sessions is None:  # AppTest's runtime is a stand-in
        return
    info = sessions.get_active_session_info(ctx.session_id)
    if info is not None:
        wait_for_loop(info.session._event_loop, MARKERS, timeout_s)


def wait_for_loop(loop: asyncio.AbstractEventLoop, markers: int, timeout_s: float) -> bool:
    """Hand ``loop`` ``markers`` markers one after the other, each once the last was reached, and wait for each at most
    ``timeout_s``; returns whether the loop reached them all (False: it is closed, stopped or too busy)."""
    for _ in range(markers):
        reached = threading.Event()
        try:
            loop.call_soon_threadsafe(reached.set)
        except RuntimeError:  # the loop is closed: the server is stopping
            return False
        if not reached.wait(timeout_s):
            return False
    return True
