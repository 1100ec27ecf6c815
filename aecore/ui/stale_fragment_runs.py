"""A fragment's rerun sent for a page the session no longer shows is skipped, not run.

Found by the Follow bench (thirty students following the teacher, bench/follow.py) and traced on the server: a
page's fragments tick on a timer (Follow the teacher's watcher, the live view: each asks for a rerun every second
or so), and each tick names the page the browser shows. When the server switches the session's page itself (the
teacher's next view, a tour's Next), ticks the browser sent before it received the new page still name the old
one. Streamlit 1.67 runs such a tick as a run of that old page: it resets the widgets of the page shown, and its
``new_session`` makes the browser empty the page it had just drawn (seen in Chromium). Drawing the page again
after each such tick restarted thirty pages every second on a busy server, whose event loop then fell behind
with their messages and sent none of them for twenty seconds: the browsers kept ticking for the old page.

:func:`skip_stale_fragment_runs` changes ``ScriptRunner._run_script``: it remembers, in the session's state, the
page each full run ended on (a fragment's run keeps the page it was sent with, the main script's when that was
empty), and a fragment's rerun that names another page does nothing (no message either): the
browser's next tick, sent once it has the new page, runs as usual.
"""

from __future__ import annotations

import functools
import logging

from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

SHOWN_PAGE_KEY = "_aecore_shown_page_hash"  # session key: the script hash of the page the session's last run ended on
_PATCHED = "_aecore_skips_stale_fragment_runs"
_LOG = logging.getLogger(__name__)


def skip_stale_fragment_runs() -> None:
    """Let ScriptRunner skip a fragment's rerun sent for a page the session no longer shows (see the module). Once
    per process; later calls do nothing."""
    if getattr(ScriptRunner, _PATCHED, False):
        return
    run_script = ScriptRunner._run_script

    @functools.wraps(run_script)
    def run_script_unless_stale(self: ScriptRunner, rerun_data) -> None:
        state = self._session_state
        shown = state[SHOWN_PAGE_KEY] if SHOWN_PAGE_KEY in state else None  # noqa: SIM401 (SafeSessionState has no get)
        if is_stale(rerun_data, shown):
            _LOG.debug("skipped a fragment rerun sent for page %s: the session shows %s",
                       rerun_data.page_script_hash, shown)
            return
        run_script(self, rerun_data)
        ctx = self._get_script_run_ctx()
        if not ctx.fragment_ids_this_run:  # a full run chose the page; a fragment's names whatever it was sent
            state[SHOWN_PAGE_KEY] = ctx.page_script_hash

    ScriptRunner._run_script = run_script_unless_stale
    setattr(ScriptRunner, _PATCHED, True)


def is_stale(rerun_data, shown: str | None) -> bool:
    """Whether ``rerun_data`` asks for a fragment's rerun on a page other than ``shown`` (the page the session's
    last full run ended on; None before its first run)."""
    return bool(rerun_data.fragment_id_queue and shown and rerun_data.page_script_hash
                and rerun_data.page_script_hash != shown)
