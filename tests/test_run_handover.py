"""A finished run's page reaches the browser when a fragment's rerun replaces its runner before the server's event
loop sent it (aecore/ui/run_handover.py): the race that lost thirty students' Starts under load, played on a real
AppSession, first as Streamlit 1.67 handles it (the page is dropped), then with the fix (it is delivered, in
order, and the new runner stays the session's)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RACE = """
import asyncio
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.script_data import ScriptData
from streamlit.runtime.scriptrunner import ScriptRunnerEvent
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from aecore.ui import run_handover

class FinishedRunner:  # its run is over: it refuses a rerun, as a runner shutting down does
    def request_rerun(self, rerun_data):
        return False

class NewRunner:
    def request_stop(self):
        pass

def page_message(text, index):
    message = ForwardMsg()
    message.metadata.delta_path[:] = [0, index]  # the queue keeps one message per place on the page
    message.delta.new_element.markdown.body = text
    return message

async def race(fixed):
    if fixed:
        run_handover.deliver_finished_runs()
    session = AppSession(script_data=ScriptData("app.py"), uploaded_file_manager=MemoryUploadedFileManager("/up"),
                         script_cache=ScriptCache(), message_enqueued_callback=None, user_info={})
    finished, new = FinishedRunner(), NewRunner()
    session._scriptrunner = finished
    session.has_fragment = lambda fragment_id: True  # the full run drew the fragment again
    session._create_scriptrunner = lambda rerun_data: setattr(session, "_scriptrunner", new)
    session.request_rerun(ClientState(fragment_id="live-view", is_auto_rerun=True))  # the fragment's timer
    assert session._scriptrunner is new
    handle = session._handle_scriptrunner_event_on_event_loop
    handle(finished, ScriptRunnerEvent.ENQUEUE_FORWARD_MSG, page_message("Epoch 1 of 10 · step 1 of 422", 0))
    handle(finished, ScriptRunnerEvent.SCRIPT_STOPPED_WITH_SUCCESS)
    handle(finished, ScriptRunnerEvent.SHUTDOWN)
    assert session._scriptrunner is new  # the new runner is the session's: its own SHUTDOWN ends it
    handle(new, ScriptRunnerEvent.ENQUEUE_FORWARD_MSG, page_message("the fragment's redraw", 1))
    sent = session.flush_browser_queue()
    return ([m.delta.new_element.markdown.body for m in sent if m.WhichOneof("type") == "delta"],
            [m.script_finished for m in sent if m.WhichOneof("type") == "script_finished"])

texts, finished = asyncio.run(race(fixed=False))
assert texts == ["the fragment's redraw"] and finished == [], (texts, finished)  # Streamlit 1.67 drops the page
texts, finished = asyncio.run(race(fixed=True))
assert texts == ["Epoch 1 of 10 · step 1 of 422", "the fragment's redraw"], texts
assert finished == [ForwardMsg.FINISHED_SUCCESSFULLY], finished
print("ok")
"""


def test_a_finished_runs_page_is_delivered_when_a_fragments_rerun_replaces_its_runner():
    done = subprocess.run([sys.executable, "-c", RACE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


def test_the_server_installs_both_streamlit_patches():
    """serve.py delivers finished runs (here) and skips stale fragment ticks (tests/test_stale_fragment_runs.py)."""
    code = ("import serve\nfrom streamlit.runtime.app_session import AppSession\n"
            "from streamlit.runtime.scriptrunner.script_runner import ScriptRunner\n"
            "assert AppSession._aecore_delivers_finished_runs and ScriptRunner._aecore_skips_stale_fragment_runs")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
