"""A finished run's page reaches the browser even when a fragment's rerun overtakes it on a busy server.

Found by the classroom bench (thirty students pressing Start at once, bench/headless_class.py) and traced on the
server: a student's click runs the whole page (their run starts), and while the server's event loop is still
behind sending that run's messages, a fragment's timer on the page (the live view, Follow the teacher's watcher:
each reruns every second or so) asks for a rerun. The finished ScriptRunner refuses it, since it is shutting
down, so Streamlit 1.67's AppSession makes a new runner the current one, and then drops every event still queued
from the finished one as "from a non-current ScriptRunner": the page, the run's end and the fragments' timers.
The browser has the run's ``new_session``, which stopped its timers, and nothing after it: the page stays on
"Press Start new run", never refreshed, while the run trains. Streamlit guards one case of this (a fragment that
the full run removed, streamlit/streamlit#9921), not a fragment the run drew again.

:func:`deliver_finished_runs` changes two AppSession methods. A runner that refused a fragment's rerun because
its run had ended is kept as *draining*, and its queued events are handled as if it were the current one: they
were all queued before the new runner existed, so they reach the browser in order, before the new runner's. Its
SHUTDOWN only forgets it. A runner stopped to start a full rerun (``runner.fastReruns``) is not kept: that run
redraws the whole page anyway.
"""

from __future__ import annotations

import functools
import weakref

from streamlit.runtime.app_session import AppSession
from streamlit.runtime.scriptrunner import ScriptRunnerEvent

_PATCHED = "_aecore_delivers_finished_runs"
_DRAINING = "_aecore_draining_runners"


def deliver_finished_runs() -> None:
    """Let AppSession deliver a finished run's queued events after a fragment's rerun replaced its runner (see the
    module). Once per process; later calls do nothing."""
    if getattr(AppSession, _PATCHED, False):
        return
    request_rerun = AppSession.request_rerun
    handle_event = AppSession._handle_scriptrunner_event_on_event_loop

    @functools.wraps(request_rerun)
    def request_rerun_keeping_the_finished(self: AppSession, client_state=None) -> None:
        before = self._scriptrunner
        request_rerun(self, client_state)
        replaced = before is not None and self._scriptrunner not in (None, before)
        if replaced and client_state is not None and client_state.fragment_id:
            draining_runners(self).add(before)

    @functools.wraps(handle_event)
    def handle_draining_events(self: AppSession, sender, event, *args) -> None:
        if sender is None or sender is self._scriptrunner or sender not in draining_runners(self):
            handle_event(self, sender, event, *args)
            return
        if event == ScriptRunnerEvent.SHUTDOWN:
            draining_runners(self).discard(sender)  # the current runner's own SHUTDOWN ends the session's run
            return
        current, self._scriptrunner = self._scriptrunner, sender
        try:
            handle_event(self, sender, event, *args)
        finally:
            self._scriptrunner = current

    AppSession.request_rerun = request_rerun_keeping_the_finished
    AppSession._handle_scriptrunner_event_on_event_loop = handle_draining_events
    setattr(AppSession, _PATCHED, True)


def draining_runners(session: AppSession) -> weakref.WeakSet:
    """The runners of ``session`` whose finished run's events are still to be delivered."""
    runners = session.__dict__.get(_DRAINING)
    if runners is None:
        runners = session.__dict__[_DRAINING] = weakref.WeakSet()
    return runners
