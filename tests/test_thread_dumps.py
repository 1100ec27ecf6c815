"""`kill -USR1` makes a server or worker process write its threads' stacks to its standard error."""

import signal
import subprocess
import sys

import pytest

from aecore.thread_dumps import dump_threads_on_sigusr1

PROCESS = """
import threading, time
from aecore.thread_dumps import dump_threads_on_sigusr1

def a_waiting_helper():
    print("ready", flush=True)
    time.sleep(30)

dump_threads_on_sigusr1()
threading.Thread(target=a_waiting_helper, daemon=True).start()
time.sleep(30)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1 on this platform")
def test_sigusr1_writes_every_threads_stack_and_the_process_goes_on():
    process = subprocess.Popen([sys.executable, "-c", PROCESS], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(signal.SIGUSR1)
        lines = [process.stderr.readline() for _ in range(8)]
        assert process.poll() is None  # dumped, not killed
    finally:
        process.kill()
        process.wait()
    dump = "".join(lines)
    assert "Thread 0x" in dump and "a_waiting_helper" in dump


def test_without_sigusr1_nothing_is_registered(monkeypatch):
    monkeypatch.delattr(signal, "SIGUSR1")
    assert dump_threads_on_sigusr1() is False
