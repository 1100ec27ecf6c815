"""A fragment's tick sent for the page shown before the server switched pages is skipped
(aecore/ui/stale_fragment_runs.py): what left thirty following students on a blank or old page under load."""

import subprocess
import sys
from pathlib import Path

from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

from aecore.ui.stale_fragment_runs import is_stale

ROOT = Path(__file__).resolve().parent.parent


def test_only_a_fragments_rerun_naming_another_page_is_stale():
    tick = RerunData(page_script_hash="interpolate", fragment_id_queue=["watcher"], is_auto_rerun=True)
    assert is_stale(tick, shown="inside")
    assert not is_stale(tick, shown="interpolate")
    assert not is_stale(tick, shown=None)  # before the session's first run
    assert not is_stale(RerunData(page_script_hash="interpolate"), shown="inside")  # a click on a page link
    assert not is_stale(RerunData(fragment_id_queue=["watcher"]), shown="inside")  # no page named


RUNS = """
from types import SimpleNamespace
from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
ran = []

def run(self, rerun_data):  # stands for Streamlit's run: the page it ends on is the one the server switched to
    ran.append(rerun_data.page_script_hash or "main")
    self.ctx.page_script_hash = self.switch_to or rerun_data.page_script_hash or "main"
    self.ctx.fragment_ids_this_run = list(rerun_data.fragment_id_queue)

ScriptRunner._run_script = run
from aecore.ui.stale_fragment_runs import skip_stale_fragment_runs
skip_stale_fragment_runs()
skip_stale_fragment_runs()  # a second call changes nothing
runner = SimpleNamespace(_session_state={}, ctx=SimpleNamespace(page_script_hash="", fragment_ids_this_run=[]),
                         switch_to="inside")
runner._get_script_run_ctx = lambda: runner.ctx
ScriptRunner._run_script(runner, RerunData(page_script_hash="interpolate"))  # the teacher's view switches pages
ScriptRunner._run_script(runner, RerunData(page_script_hash="interpolate", fragment_id_queue=["watcher"]))
runner.switch_to = None
ScriptRunner._run_script(runner, RerunData(page_script_hash="inside", fragment_id_queue=["watcher"]))
ScriptRunner._run_script(runner, RerunData(fragment_id_queue=["pad"]))  # sent with no page: runs as the main script's
ScriptRunner._run_script(runner, RerunData(page_script_hash="inside", fragment_id_queue=["pad"]))  # the page stays
assert ran == ["interpolate", "inside", "main", "inside"], ran
print("ok")
"""


def test_the_stale_tick_is_skipped_and_the_next_one_runs():
    done = subprocess.run([sys.executable, "-c", RUNS], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]

