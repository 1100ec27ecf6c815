"""What the browser tests share: the app served by `streamlit run` on a free local port, Debian's Chromium
(never `playwright install`), waits for a page's script to end and for its charts to be drawn, and the steps
every browser test takes (a new tab, a page opened from the sidebar, a screenshot). Nothing here sleeps for a
fixed time: each wait is for a condition the page shows."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect
    expect.set_options(timeout=20_000)  # a condition met later on a loaded machine (2 cores, a server, Chromium)
except ImportError:  # the browser tests skip (or fail in CI) on Chromium; playwright comes with requirements-dev.txt
    PlaywrightTimeoutError, expect = TimeoutError, None

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "tests" / "screenshots"  # git-ignored: for people to look at
SCREENSHOTS_ENV = "AECORE_TEST_SCREENSHOTS"  # 1: the browser tests save their screenshots in SHOTS
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
INSTALL_HINT = "install Debian's browser with `sudo apt-get install chromium` (never `playwright install`)"
# every server started by this pytest process: (its log, its process, when it started by time.time()); a failing
# test's report shows the ends of the logs of those running then or started during the test
SERVERS: list[tuple[Path, subprocess.Popen, float]] = []
DUMPED: set[int] = set()  # pids of servers stopped by a failing test after writing their threads' stacks


def require_chromium() -> None:
    """Skip the calling test module when Chromium is missing; in CI, fail it instead."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests, but {CHROMIUM} is missing: {INSTALL_HINT}", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing: {INSTALL_HINT}", allow_module_level=True)


def launch_chromium(playwright):
    """Headless Chromium, started by Playwright (a ``sync_playwright()`` context)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


RUN_STARTS_WITHIN_MS = 1500  # after a click or a key, even a loaded server starts the run it asks for within this


def settle(page) -> None:
    """Wait until the app is connected and its script has finished running: first for the run that an action just
    asked for to start, then for it to end. Nearly every action the tests settle after asks for a run, and its
    start is seen at once; one that asks for none (or whose run ended before this looked) waits
    RUN_STARTS_WITHIN_MS."""
    with suppress(PlaywrightTimeoutError):
        page.locator("[data-testid='stApp']:not([data-test-script-state='notRunning'])").wait_for(
            state="attached", timeout=RUN_STARTS_WITHIN_MS)
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached")
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(log: Path, env: Mapping[str, str], port: int | None = None) -> tuple[subprocess.Popen, str]:
    """serve.py started with ``env`` added to this process's environment (a fresh class data folder and no warm-up
    unless ``env`` says otherwise), its output in ``log``; returns the process and its URL once its health check
    answers."""
    port = port or _free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false", "--server.disconnectedSessionTTL", "2"]
    # no warm-up (tests/test_startup.py tests it): it loads MNIST, starts two worker processes and compiles UMAP in
    # every server beside the test, which needs at most a part of it and starts that part when it does
    env = {"AECORE_DATA_DIR": str(log.parent / f"class-data-{port}"), "AECORE_WARM_UP": "0", **env}
    with log.open("a") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT,
                                   env={**os.environ, **env})
    SERVERS.append((log, process, time.time()))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return process, url
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"streamlit did not start:\n{log.read_text()}")
        time.sleep(0.5)


def stop_server(process: subprocess.Popen) -> None:
    """Stop a server a test started. Called while the test is failing (in a ``finally`` with an exception on its
    way out), it first has the server write its threads' stacks into its log, which the report then shows: a
    stopped server cannot be asked any more."""
    if process.poll() is None and sys.exc_info()[0] is not None and hasattr(signal, "SIGUSR1"):
        dump_threads(process)
        DUMPED.add(process.pid)
    process.terminate()
    process.wait(15)


@contextmanager
def served_app(log: Path, env: Mapping[str, str]) -> Iterator[str]:
    """:func:`start_server`; yields its URL, and stops it afterwards."""
    process, url = start_server(log, env)
    try:
        yield url
    finally:
        stop_server(process)


def _workers_of(pid: int) -> list[int]:
    """The worker processes a server started (multiprocessing's spawned children, at any depth; not its resource
    tracker), from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        frontier += children
        for child in children:
            with suppress(OSError):
                if b"spawn_main" in (Path("/proc") / str(child) / "cmdline").read_bytes():
                    found.append(child)
    return found


def dump_threads(process: subprocess.Popen) -> None:
    """Ask a running server and its workers to write every thread's stack into its log (aecore.thread_dumps), and
    give them a moment to."""
    for pid in (process.pid, *_workers_of(process.pid)):
        with suppress(OSError):
            os.kill(pid, signal.SIGUSR1)
    time.sleep(1.0)


def logs_since(started: float, lines: int = 60) -> list[tuple[str, str]]:
    """(title, last ``lines`` lines) of the log of each server running now or started since ``started`` (a
    time.time()): a failing browser test's report shows them, since CI keeps no files. A server still running
    first writes its threads' stacks there (and its log's last 400 lines are shown)."""
    shown = []
    for log, process, at in SERVERS:
        running = process.poll() is None
        if not (running or at >= started):
            continue
        if running and hasattr(signal, "SIGUSR1"):
            dump_threads(process)
        count = max(lines, 400) if running or process.pid in DUMPED else lines
        try:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-count:])
        except OSError as exc:
            tail = f"(could not be read: {exc})"
        shown.append((f"server log {log} (last {count} lines)", tail))
    return shown


# every chart on the page drawn by plotly.js: laid out, with its SVG (and, for WebGL points, its canvas) in place
PLOTS_DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')].every(
    (plot) => plot._fullLayout && plot._fullData && plot.querySelector('.main-svg'))"""


def plots_drawn(page) -> None:
    """Wait until every Plotly chart on ``page`` is drawn (plotly.js draws after Streamlit adds the element)."""
    page.wait_for_function(PLOTS_DRAWN)


# the element's box two animation frames from now
BOX_IN_TWO_FRAMES = """(element) => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => {
    const box = element.getBoundingClientRect();
    resolve([box.x, box.y, box.width, box.height]);
})))"""


def steady(locator, timeout_s: float = 20.0) -> dict[str, float]:
    """Wait until ``locator``'s box stops moving: the same, and drawn, over two animation frames (a sidebar folding
    away, a chart drawn again at its new width, an image loading above it). Returns that box (x, y, width, height
    in the window), measured in the page: ``bounding_box()`` asked afterwards could meet an element that a rerun
    has just replaced and give None."""
    deadline = time.monotonic() + timeout_s
    previous = None
    while (box := locator.evaluate(BOX_IN_TWO_FRAMES)) != previous or not (box[2] and box[3]):
        if time.monotonic() > deadline:
            raise AssertionError(f"{locator} kept moving: {previous} then {box}")
        previous = box
    return dict(zip(("x", "y", "width", "height"), box, strict=True))


def visit(context, url: str):
    """A new tab of ``context`` (a new session) on ``url``, its script done."""
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    settle(page)
    return page


def stop_my_run(context, url: str) -> None:
    """Stop the run of ``context``'s browser if it still trains: runs outlive their tabs, and one left training
    would share the workers with the next tests."""
    page = visit(context, url + "/train")
    stop = page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop")
    if stop.is_enabled():
        stop.click()
        settle(page)
    page.close()


def open_page(page, title: str, tries: int = 3) -> None:
    """Open the page called ``title`` from the sidebar's navigation and wait for its script; the address must become
    the link's (on a loaded machine a click that lands while the page reruns can be lost: it is clicked again)."""
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title)
    address = re.compile("^" + re.escape(link.evaluate("a => a.href")) + r"/?(\?.*)?$")
    for attempt in range(tries):
        link.click()
        settle(page)
        try:
            expect(page).to_have_url(address, timeout=10_000)
            return
        except AssertionError:
            if attempt == tries - 1:
                raise


def no_exceptions(page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def shoot(page, name: str, full_page: bool = True) -> None:
    """A screenshot in tests/screenshots/, for people to look at, when ``AECORE_TEST_SCREENSHOTS=1``: the tests
    assert nothing on them, and some forty full-page shots in software rendering took a good part of the browser
    tests' time."""
    if os.environ.get(SCREENSHOTS_ENV) != "1":
        return
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def choose(page, box, option: str, tries: int = 3) -> None:
    """Open the select ``box`` and click ``option``; a click that lands while the page reruns can leave the list
    closed, so open it again."""
    for attempt in range(tries):
        box.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
            return
        except PlaywrightTimeoutError:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")
            settle(page)


def hover_until_shown(page, x: float, y: float, tip, tries: int = 40) -> None:
    """Move the mouse onto (``x``, ``y``) until the hover image ``tip`` shows. The hover component finds a chart
    drawn anew within half a second (it looks twice a second): a hover before that shows nothing, so move off and
    on again."""
    for _ in range(tries):
        page.mouse.move(x - 3, y - 3)
        page.mouse.move(x, y)
        try:
            expect(tip).to_be_visible(timeout=250)
            return
        except AssertionError:
            page.mouse.move(5, 5)
    expect(tip).to_be_visible()
