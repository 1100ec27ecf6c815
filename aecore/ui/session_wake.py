"""Rerun other sessions' pages from the server: how a following class hears of the teacher's new view at once.

A following student's page learns of a new view from its watcher (:mod:`aecore.ui.follow`), a fragment that
ticks once a second: half a second late on average, and later on a busy server, where each tick is a run among
thirty. So when the teacher's view changes, :func:`rerun_listeners` asks each following session for a rerun at
once, as Streamlit's own "run on save" does: ``AppSession.request_rerun`` with the session's last client state
(its page, its query string), called on the session's event loop, when the session runs nothing. The rerun takes
the view as a tick's would. The tick stays: it counts the class and catches a page the push did not rerun (one
that was running, one that was reconnecting).

Only sessions that said they listen (:func:`listen`) are asked; nothing happens outside a Streamlit server
(AppTest has no runtime).
"""

from __future__ import annotations

import threading

from streamlit.runtime import Runtime
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.scriptrunner import get_script_run_ctx

_lock = threading.Lock()
_listening: set[str] = set()  # session ids


def _this_session() -> str | None:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def listen(on: bool) -> None:
    """Whether this session's page wants a rerun when :func:`rerun_listeners` is called."""
    session_id = _this_session()
    if session_id is None:
        return
    with _lock:
        if on:
            _listening.add(session_id)
        else:
            _listening.discard(session_id)


def rerun_listeners() -> int:
    """Ask every listening session's page but this one for a rerun now; returns how many were asked. A session
    that ended (its tab closed, its websocket gone) leaves the list."""
    sessions = getattr(Runtime.instance(), "_session_mgr", None) if Runtime.exists() else None
    if sessions is None:  # AppTest's runtime is a stand-in
        return 0
    me = _this_session()
    with _lock:
        listening = [session_id for session_id in _listening if session_id != me]
    asked = 0
    for session_id in listening:
        info = sessions.get_active_session_info(session_id)
        if info is None:
            with _lock:
                _listening.discard(session_id)
            continue
        try:
            info.session._event_loop.call_soon_threadsafe(_rerun, info.session)
        except RuntimeError:  # its event loop closed: the server is stopping
            continue
        asked += 1
    return asked


def _rerun(session: AppSession) -> None:
    """On the session's event loop: a rerun with its last client state, as Streamlit's run on save does, if no run
    is going on. A run going on may be a page switch whose page the last client state does not name yet: rerun with
    it, the page would go back, and look like the student's own move. Such a page hears at its next tick."""
    if session._scriptrunner is None:
        session.request_rerun(session._client_state)
