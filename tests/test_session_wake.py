"""Rerunning other sessions' pages from the server (aecore/ui/session_wake.py), on a stand-in of Streamlit's
runtime: each session that listens, but the caller's, is asked for a rerun on its own event loop with its last
client state, as Streamlit's run on save does; a session that stopped listening or ended is not."""

from types import SimpleNamespace

import pytest

from aecore.ui import session_wake


class Session:
    """An AppSession's part that a wake-up touches."""

    def __init__(self) -> None:
        self._client_state = object()
        self._scriptrunner = None  # no run going on
        self.handed: list = []  # what its event loop was handed
        self._event_loop = SimpleNamespace(call_soon_threadsafe=lambda *call: self.handed.append(call))
        self.reruns: list = []

    def request_rerun(self, client_state) -> None:
        self.reruns.append(client_state)

    def run_loop(self) -> None:
        for function, *arguments in self.handed:
            function(*arguments)
        self.handed.clear()


@pytest.fixture
def sessions(monkeypatch) -> dict[str, Session]:
    """Three open sessions, "ended" gone from the runtime, and nobody listening yet."""
    open_sessions = {name: Session() for name in ("teacher", "student", "explorer")}
    manager = SimpleNamespace(get_active_session_info=lambda session_id: (
        SimpleNamespace(session=open_sessions[session_id]) if session_id in open_sessions else None))
    runtime = SimpleNamespace(_session_mgr=manager)
    monkeypatch.setattr(session_wake.Runtime, "exists", staticmethod(lambda: True))
    monkeypatch.setattr(session_wake.Runtime, "instance", staticmethod(lambda: runtime))
    monkeypatch.setattr(session_wake, "_listening", set())
    return open_sessions


def _as(monkeypatch, session_id: str) -> None:
    monkeypatch.setattr(session_wake, "_this_session", lambda: session_id)


def test_each_listening_session_but_the_callers_reruns_on_its_event_loop(sessions, monkeypatch):
    for session_id, on in (("teacher", True), ("student", True), ("explorer", True), ("ended", True),
                           ("explorer", False)):
        _as(monkeypatch, session_id)
        session_wake.listen(on)
    _as(monkeypatch, "teacher")
    assert session_wake.rerun_listeners() == 1  # the student: not the caller, not one who stopped, not one gone
    student = sessions["student"]
    assert student.reruns == []  # nothing runs on the caller's thread: the session's loop does it
    student.run_loop()
    assert student.reruns == [student._client_state]
    assert not sessions["teacher"].handed and not sessions["explorer"].handed
    assert session_wake._listening == {"teacher", "student"}  # the ended session left the list


def test_a_session_running_a_script_is_left_to_its_next_tick(sessions, monkeypatch):
    """A run going on may be a page switch that its last client state does not name yet: a rerun with that state
    would take the page back, as if the student had left the teacher's view."""
    _as(monkeypatch, "student")
    session_wake.listen(True)
    _as(monkeypatch, "teacher")
    student = sessions["student"]
    student._scriptrunner = object()
    assert session_wake.rerun_listeners() == 1
    student.run_loop()
    assert student.reruns == []


def test_a_session_whose_event_loop_closed_is_skipped(sessions, monkeypatch):
    def closed(*call):
        raise RuntimeError("Event loop is closed")

    for session_id in ("student", "explorer"):
        _as(monkeypatch, session_id)
        session_wake.listen(True)
    sessions["student"]._event_loop.call_soon_threadsafe = closed  # the server is stopping
    _as(monkeypatch, "teacher")
    assert session_wake.rerun_listeners() == 1  # the teacher's page goes on; the explorer is asked


def test_nothing_is_asked_without_a_server(monkeypatch):
    monkeypatch.setattr(session_wake.Runtime, "exists", staticmethod(lambda: False))
    monkeypatch.setattr(session_wake, "_listening", {"student"})
    assert session_wake.rerun_listeners() == 0
