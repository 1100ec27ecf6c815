"""In Chromium: nothing a student does is lost to a reload, a dropped network, a closed tab or a server restart.

The servers here drop a disconnected session after 2 s (``--server.disconnectedSessionTTL 2``), so a 6 s
outage loses the session on the server exactly as a 90 s one does with the class default (20 s): what comes
back is a new session, which must find the run by the browser's key.
"""

import contextlib
import os
import re
import signal
import socket
import sqlite3
import threading
import time

import pytest
from streamlit_server import require_chromium, settle, start_server, stop_server, visit

require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

LONG_RUN = "/train?dataset=digits&epochs=400"  # about 4,400 steps: it is still training when the test acts
SHORT_EPOCHS, LONG_EPOCHS = 15, 60  # digits epochs (11 steps each): seconds, and tens of seconds
STEP = re.compile(r"step (\d+) of (\d+)")


class Outage:
    """A TCP relay to the server that can be cut: every connection through it closes, and new ones are refused,
    as when a laptop loses the Wi-Fi."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self.up = False
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.sockets.clear()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    """One server for the tests that only need theirs to keep running: the process, its URL and its log."""
    log = tmp_path_factory.mktemp("class-server") / "streamlit.log"
    process, url = start_server(log, {})
    yield process, url, log
    stop_server(process)


def _steps(page: Page) -> int:
    """The step count the progress line shows now (epochs done x steps per epoch + step in the epoch); -1 while
    there is none (the live view redraws it every second)."""
    for text in page.get_by_test_id("stProgress").all_inner_texts():
        epoch, step = re.search(r"Epoch (\d+)", text), STEP.search(text)
        if epoch and step:
            return (int(epoch.group(1)) - 1) * int(step.group(2)) + int(step.group(1))
    return -1


def _wait_for(condition, seconds: float, page: Page) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            page.screenshot(path="/tmp/wait-failed.png")
            raise AssertionError(f"not true within {seconds} s")
        page.wait_for_timeout(500)


def _training(page: Page) -> None:
    expect(page.get_by_test_id("stProgress").get_by_text(STEP)).to_be_visible(timeout=90_000)


def _stop(page: Page) -> None:
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
    expect(page.get_by_text(re.compile("Stopped"))).to_be_visible(timeout=30_000)


def test_a_reload_and_a_dropped_network_find_the_same_run_going_on(browser, class_server):
    _, url, _ = class_server
    outage = Outage(int(url.rsplit(":", 1)[1]))
    relayed = f"http://127.0.0.1:{outage.port}"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = visit(context, relayed + LONG_RUN)
        page.get_by_role("button", name="Start new run").click()
        _training(page)
        _wait_for(lambda: _steps(page) > 0, 30, page)
        before = _steps(page)

        page.reload()  # (b) a reload is a new session: the cookie finds the run (how fast: bench.reattach)
        _training(page)
        _wait_for(lambda: _steps(page) > before, 30, page)
        after_reload = _steps(page)

        outage.cut()  # (a) the network drops for longer than the server keeps a session
        time.sleep(6)  # three times the session's life: its session is gone for sure
        outage.up = True
        _wait_for(lambda: _steps(page) > after_reload, 60, page)  # the same run, further on: nothing reset
        expect(page.get_by_test_id("stException")).to_have_count(0)
        _stop(page)
    finally:
        context.close()


def test_runs_survive_a_closed_tab_a_kill_9_and_a_lost_database(browser, tmp_path):
    log = tmp_path / "streamlit.log"
    data = tmp_path / "class"
    env = {"AECORE_DATA_DIR": str(data), "AECORE_RUNS_DIR": str(tmp_path / "runs")}
    process, url = start_server(log, env)
    short, long = (browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2))
    try:
        # (c) a tab closed while its run trains; opened again from the link after the run finished
        page = visit(short, url + f"/train?dataset=digits&epochs={SHORT_EPOCHS}")
        page.get_by_role("button", name="Start new run").click()
        expect(page.get_by_text("This run:")).to_be_visible()
        page.close()
        time.sleep(3)  # the session is gone (2 s); the run goes on to its end
        page = visit(short, url + "/train")
        expect(page.get_by_text(re.compile(rf"Finished {SHORT_EPOCHS} epochs"))).to_be_visible(timeout=180_000)
        page.close()

        # (d) the server is killed mid-run; after a restart the run goes on from its last checkpoint and finishes
        page = visit(long, url + f"/train?dataset=digits&epochs={LONG_EPOCHS}")
        page.get_by_role("button", name="Start new run").click()
        _training(page)
        _wait_for(lambda: _checkpointed_epoch(data) >= 10, 150, page)
        checkpoint = _checkpointed_epoch(data)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(15)
        process, url = start_server(log, env)
        page = visit(long, url + "/train")
        expect(page.get_by_text(f"{LONG_EPOCHS} epochs", exact=False).first).to_be_visible(timeout=30_000)
        finished = page.get_by_text(re.compile(rf"Finished {LONG_EPOCHS} epochs"))
        _wait_for(lambda: _steps(page) >= checkpoint * 11 or finished.count(), 180, page)  # on from its checkpoint
        expect(page.get_by_text(re.compile(rf"Finished {LONG_EPOCHS} epochs"))).to_be_visible(timeout=300_000)
        _open_board_and_expect_two_runs(page)

        # (e) the database truncated: the server starts, rebuilds it from the run folders and lists both runs
        stop_server(process)
        (data / "class.db").write_bytes(b"not a database")
        for suffix in ("-wal", "-shm"):
            (data / f"class.db{suffix}").unlink(missing_ok=True)
        process, url = start_server(log, env)
        page = visit(short, url + "/train")
        expect(page.get_by_text(re.compile(rf"Finished {SHORT_EPOCHS} epochs"))).to_be_visible(timeout=180_000)
        _open_board_and_expect_two_runs(page)
        with sqlite3.connect(data / "class.db") as db:
            assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
        assert "rebuilt from the run folders" in log.read_text()
        assert "Traceback" not in log.read_text()
    finally:
        short.close()
        long.close()
        stop_server(process)


def _checkpointed_epoch(data) -> int:
    """The epoch of the long run's last checkpoint, as its job.json says (0 before one)."""
    for path in (data / "runs").glob("*/job.json"):
        text = path.read_text()
        if f'"epochs":{LONG_EPOCHS}' in text and (path.parent / "state").is_dir():
            return int(re.search(r'"epoch":(\d+)', text).group(1))
    return 0


def _open_board_and_expect_two_runs(page: Page) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Class board").click()
    settle(page)
    for epochs in (SHORT_EPOCHS, LONG_EPOCHS):  # the table is drawn on a canvas: its cells are in the DOM, hidden
        expect(page.locator("[role=gridcell]", has_text=f"finished {epochs} epochs")).to_be_attached(timeout=30_000)


def test_a_student_reaches_only_their_own_run(browser, class_server):
    _, url, log = class_server
    mine, theirs = (browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2))
    try:
        a = visit(mine, url + LONG_RUN)
        a.get_by_role("button", name="Start new run").click()
        _training(a)
        b = visit(theirs, url + "/train")
        expect(b.get_by_text(re.compile("Press .*Start new run"))).to_be_visible()  # B sees no run of A's
        expect(b.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop")).to_be_disabled()
        expect(b.get_by_role("button", name="Resume")).to_be_disabled()
        cookie = next(c for c in mine.cookies() if c["name"] == "aelab_key")
        b = visit(theirs, url + "/train?me=" + "x" * 30)  # a guessed key is someone else's, never A's
        expect(b.get_by_text(re.compile("Press .*Start new run"))).to_be_visible()
        assert cookie["value"] not in b.url
        b.get_by_test_id("stSidebarNav").get_by_role("link", name="Class board").click()
        settle(b)
        expect(b.locator("[role=gridcell]", has_text="running epoch")).to_be_attached(timeout=30_000)
        expect(b.get_by_text("(you)")).to_have_count(0)  # A's row is listed, not as B's, and has no actions
        page_text = b.content()
        assert cookie["value"] not in page_text  # no key on the board
        _stop(a)
        assert cookie["value"] not in log.read_text()  # nor in the server's log
    finally:
        mine.close()
        theirs.close()
