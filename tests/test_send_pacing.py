"""A following page's script waits for the server's event loop to send what is queued (aecore/ui/send_pacing.py)."""

import asyncio
import threading
import time

from aecore.ui import send_pacing


def test_the_script_goes_on_once_the_loop_has_handled_what_was_queued_before_it():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    handled = []
    try:
        loop.call_soon_threadsafe(lambda: (time.sleep(0.3), handled.append("queued first")))  # a busy loop
        assert send_pacing.wait_for_loop(loop, markers=2, timeout_s=10)
        assert handled == ["queued first"]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_a_loop_that_never_answers_or_is_closed_is_not_waited_for():
    loop = asyncio.new_event_loop()  # never run: the first marker times out, the second is not sent
    assert not send_pacing.wait_for_loop(loop, markers=2, timeout_s=0.1)
    assert len(loop._ready) == 1
    loop.close()
    assert not send_pacing.wait_for_loop(loop, markers=2, timeout_s=10)  # closed: the server is stopping


def test_outside_a_streamlit_server_there_is_nothing_to_wait_for(monkeypatch):
    monkeypatch.setattr(send_pacing, "wait_for_loop", lambda *args: (_ for _ in ()).throw(AssertionError(args)))
    send_pacing.catch_up()  # no script run, no runtime: returns without looking for a loop
