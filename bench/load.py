"""`python -m bench.load --sessions N`: a class on one server, measured.

Starts the dashboard the way `make run` does (`streamlit run serve.py`, the
project's .streamlit/config.toml) and drives N headless Chromium contexts,
each its own browser session (or, with ``--browsers K``, K Chromium tabs and
N - K headless students speaking the frontend's websocket protocol:
bench/headless_class.py, what a class of 30 costs the server without 30
browsers on its two cores), through three scenarios:

- (a) ``start``: N sessions press Start within a few seconds on the Train page, each with its own seed (N
  different runs: identical ones would train once for all); per student, the seconds from the click to the
  first step on their page, and each run's steps/s over the window (how fairly the turns are shared);
- (b) ``mixed``: 2 sessions train while the others explore (switch pages,
  click the latent map, move sliders);
- (c) ``idle``: N sessions open, half idle and half exploring.

It reports total training steps/s (read from each page's progress line, as a
student sees it) against one session training alone, p50/p95 of the
explorers' rerun times (from an action to the page's script being done, timed
in the browser), p50/p95 of the server's share of every page run meanwhile
(the server logs each run's duration: aecore/ui/run_timing.py), the tracebacks
in the server's log and on the pages, and the resident memory of the server and
of its training workers. The run's result file (bench.results: its figures with
their samples, everything measured under "details") goes to
bench/results/<date>-<time>-<commit>-load.json unless ``--out`` names another
file. Figures, never pass/fail.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from aecore.ui.run_timing import ENV_FLAG, LINE_PREFIX
from bench import machine
from bench.headless_class import HeadlessSession, StudentLoop
from bench.report import markdown_table
from bench.results import document, save
from bench.stats import figure

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
PROGRESS = re.compile(r"Epoch (\d+) of \d+ · step (\d+) of (\d+)")
EXPLORE_PAGES = ("Explore", "Interpolate", "Home", "Inside")
READ_TIMEOUT_MS = 5_000  # a page's progress line, read: see Session.steps_done
SESSION_END_S = 25  # the project's server.disconnectedSessionTTL (20 s), and then some
WARM_UP_S = 40  # the server's background warm-up (aecore/ui/warm_up.py) starts 8 s after a first page, ~30 s long
RUN_LINE = re.compile(re.escape(LINE_PREFIX) + r" (\S+) ([0-9.]+) s \(cpu ([0-9.]+) s\)")
# Each script run's start and end as the page sees them, on the page's clock (performance.now(), ms).
WATCH_RUNS = """() => {
  if (window.__runs) return;
  window.__runs = [];
  const app = document.querySelector("[data-testid='stApp']");
  new MutationObserver(() => window.__runs.push({state: app.dataset.testScriptState, t: performance.now()}))
    .observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
}"""
RUN_STARTED_SINCE = """(t0) => window.__runs.some(r => r.state === "running" && r.t >= t0)"""
RUN_DONE_SINCE = """(t0) => {
  const started = window.__runs.find(r => r.state === "running" && r.t >= t0);
  return started && window.__runs.find(r => r.state === "notRunning" && r.t >= started.t) ? true : false;
}"""
RUN_END_SINCE = """(t0) => {
  const started = window.__runs.find(r => r.state === "running" && r.t >= t0);
  return window.__runs.find(r => r.state === "notRunning" && r.t >= started.t).t;
}"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`streamlit run serve.py` on a free port, its log in a file; memory read from /proc."""

    def __init__(self, options: tuple[str, ...] = ()) -> None:
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="aecore-load-"))
        self.log = self.folder / "server.log"
        env = {**os.environ, "AECORE_RUNS_DIR": str(self.folder / "runs"),
               "AECORE_DATA_DIR": str(self.folder / "class"), ENV_FLAG: "1"}
        command = [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(self.port),
                   "--server.address", "127.0.0.1", *(f"--{option}" for option in options)]
        with self.log.open("w") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the server did not start:\n{self.log.read_text()}")

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback")

    def log_size(self) -> int:
        return self.log.stat().st_size

    def runs_since(self, offset: int) -> list[tuple[str, float, float]]:
        """The page runs the server logged after byte ``offset`` of its log: (page, seconds, CPU seconds)."""
        with self.log.open("rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
        return [(match.group(1), float(match.group(2)), float(match.group(3))) for match in RUN_LINE.finditer(text)]

    def memory_mb(self) -> dict:
        """Resident memory of the server and of each of its descendant processes (the workers)."""
        children: dict[int, list[int]] = {}
        for status in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = status.read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(status.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        descendants, stack = [], list(children.get(self.process.pid, []))
        while stack:
            pid = stack.pop()
            descendants.append(pid)
            stack += children.get(pid, [])
        workers = [pid for pid in descendants if _rss_mb(pid) > 50]  # not the resource tracker
        return {"server": _rss_mb(self.process.pid), "workers": sorted(map(_rss_mb, workers), reverse=True),
                "pss_total": round(sum(map(_pss_mb, [self.process.pid, *workers])), 1)}

    @contextmanager
    def peak_memory(self, every_s: float = 1.0) -> Iterator[dict]:
        """Sample :meth:`memory_mb` every ``every_s`` while the block runs; the dict it yields holds, afterwards,
        the peak of the server's and all its workers' resident memory added up (``peak_total_mb``: pages they
        share, such as the mapped dataset and the libraries, count once per process), the sample at that peak,
        and the peak of their proportional set size (``peak_pss_mb``: each shared page split between its
        processes, what the machine needs)."""
        peak: dict = {"peak_total_mb": 0.0, "peak_pss_mb": 0.0}
        done = threading.Event()

        def sample() -> None:
            while not done.wait(every_s):
                now = self.memory_mb()
                total = now["server"] + sum(now["workers"])
                if total > peak["peak_total_mb"]:
                    peak.update(peak_total_mb=round(total, 1), at_peak=now)
                peak["peak_pss_mb"] = max(peak["peak_pss_mb"], now["pss_total"])

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield peak
        finally:
            done.set()
            sampler.join()

    def stacks(self) -> str:
        """The server's threads' stacks now (py-spy, where installed): where a page that shows nothing waits."""
        spy = Path(sys.executable).parent / "py-spy"
        if not spy.exists():
            return "py-spy is not installed"
        done = subprocess.run([str(spy), "dump", "--pid", str(self.process.pid)], capture_output=True, text=True)
        return done.stdout + done.stderr

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _pss_mb(pid: int) -> float:
    """Proportional set size of process ``pid`` in MB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


class Session:
    """One browser context: a student's tab."""

    def __init__(self, browser, url: str) -> None:
        self.last_steps: int | None = None
        self.slow_reads = 0  # reads of the progress line that timed out
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(120_000)
        self.page.goto(url)
        self.settle()
        self.page.evaluate(WATCH_RUNS)

    def settle(self, timeout_ms: int = 120_000) -> None:
        page = self.page
        page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(
            state="attached", timeout=timeout_ms)
        page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
            state="attached", timeout=timeout_ms)

    def timed(self, action) -> float | None:
        """Seconds from ``action()`` until the script run it started has finished, on the page's clock
        (None if no run started within 5 s: the action changed nothing)."""
        t0 = self.page.evaluate("performance.now()")
        action()
        try:
            self.page.wait_for_function(RUN_STARTED_SINCE, arg=t0, timeout=5_000, polling=50)
        except Exception:  # Playwright's TimeoutError: e.g. a slider already at its end
            return None
        self.page.wait_for_function(RUN_DONE_SINCE, arg=t0, timeout=120_000, polling=50)
        return (self.page.evaluate(RUN_END_SINCE, t0) - t0) / 1000

    def open(self, title: str) -> float | None:
        return self.timed(lambda: self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click())

    def start_training(self) -> None:
        self.page.get_by_role("button", name="Start new run").click()

    def stop_training(self) -> bool:
        """Stop this browser's run if it trains: a run outlives its tab, and would train on into the next
        scenario. False when the page did not answer (counted as a failed action, never fatal to the bench)."""
        try:
            stop = self.page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop")
            if stop.count() and stop.is_enabled(timeout=READ_TIMEOUT_MS):
                stop.click(timeout=READ_TIMEOUT_MS)
                self.settle(timeout_ms=30_000)
            return True
        except Exception:  # Playwright's TimeoutError or a closed page: the figures measured so far still count
            return False

    def steps_done(self) -> int | None:
        """The steps this page's progress line shows now; what it showed last if the page does not answer within
        READ_TIMEOUT_MS (thirty starved tabs on two cores: one slow page must not hold up reading the others)."""
        try:
            text = self.page.get_by_test_id("stMain").inner_text(timeout=READ_TIMEOUT_MS)
        except Exception:  # Playwright's TimeoutError
            self.slow_reads += 1
            return self.last_steps
        match = PROGRESS.search(text)
        if match is None:
            return None
        epoch, step, per_epoch = map(int, match.groups())
        self.last_steps = (epoch - 1) * per_epoch + step
        return self.last_steps

    def explore_once(self, turn: int) -> float | None:
        """One thing a curious student does: switch page, click the map, or move a slider."""
        page = self.page
        kind = turn % 3
        if kind == 0 or page.get_by_test_id("stPlotlyChart").count() == 0:
            return self.open(EXPLORE_PAGES[turn % len(EXPLORE_PAGES)])
        if kind == 1 and page.locator(".nsewdrag").count():
            box = page.locator(".nsewdrag").first.bounding_box()
            if box:
                x, y = box["x"] + box["width"] * (0.2 + 0.6 * (turn % 7) / 7), box["y"] + box["height"] * 0.4
                return self.timed(lambda: page.mouse.click(x, y))
        sliders = page.get_by_test_id("stMain").get_by_role("slider")
        if sliders.count():
            slider = sliders.first
            return self.timed(lambda: (slider.focus(), slider.press("ArrowRight" if turn % 2 else "ArrowLeft")))
        return self.open(EXPLORE_PAGES[turn % len(EXPLORE_PAGES)])

    def exceptions(self) -> int:
        return self.page.get_by_test_id("stException").count()

    def close(self) -> None:
        self.context.close()


class Classroom:
    """Opens the students' tabs: in each scenario the first ``browsers`` in Chromium (None: all of them), the
    others as headless students (bench.headless_class)."""

    def __init__(self, browsers: int | None, browser_nice: bool) -> None:
        self.browsers, self.browser_nice = browsers, browser_nice
        self._stack = ExitStack()
        self._chromium = None
        self._loop: StudentLoop | None = None

    def __enter__(self) -> Classroom:
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def real(self, index: int) -> bool:
        """Whether the scenario's ``index``-th student has a real browser."""
        return self.browsers is None or index < self.browsers

    def open(self, url: str, index: int = 0) -> Session | HeadlessSession:
        """The scenario's ``index``-th student's tab on ``url``."""
        if self.real(index):
            return Session(self._browser(), url)
        if self._loop is None:
            self._loop = StudentLoop()
            self._stack.callback(self._loop.close)
        return HeadlessSession(self._loop, url, PROGRESS, EXPLORE_PAGES)

    def _browser(self):
        if self._chromium is None:
            from playwright.sync_api import sync_playwright

            playwright = self._stack.enter_context(sync_playwright())
            executable = (_niced_chromium(Path(tempfile.mkdtemp(prefix="aecore-chromium-"))) if self.browser_nice
                          else CHROMIUM)
            self._chromium = playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            self._stack.callback(self._chromium.close)
        return self._chromium


def _training_rate(trainers: list[Session], seconds: float) -> float:
    """Total steps/s of ``trainers`` over ``seconds``, from their progress lines."""
    def total() -> int:
        return sum(s.steps_done() or 0 for s in trainers)

    first, started = total(), time.perf_counter()
    time.sleep(seconds)
    return (total() - first) / (time.perf_counter() - started)


def _wait_for_progress(sessions: list[Session], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(s.steps_done() for s in sessions):
            return
        time.sleep(0.5)
    raise RuntimeError("no session started training")


def _explore_for(explorers: list[Session], seconds: float) -> list[float]:
    times, turn, deadline = [], 0, time.monotonic() + seconds
    while time.monotonic() < deadline and explorers:
        for session in explorers:
            if (seconds_taken := session.explore_once(turn)) is not None:
                times.append(seconds_taken)
        turn += 1
    return times


def _server_runs(runs: list[tuple[str, float, float]]) -> dict:
    """Percentiles of the server's page runs: all of them, their CPU time, and each page's."""
    pages = sorted({page for page, _, _ in runs})
    return {**_percentiles([seconds for _, seconds, _ in runs]),
            "cpu": _percentiles([cpu for _, _, cpu in runs]),
            "by_page": {page: _percentiles([seconds for name, seconds, _ in runs if name == page]) for page in pages}}


def _percentiles(times: list[float]) -> dict:
    if not times:
        return {"p50_s": None, "p95_s": None, "actions": 0}
    ordered = sorted(times)
    return {"p50_s": round(statistics.median(ordered), 3),
            "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3), "actions": len(ordered)}


LONG_RUN = "epochs=100"  # a run that outlasts its measuring window, alone or among 30


def scenario_alone(room: Classroom, server: Server, window: float) -> float:
    session = room.open(f"{server.url}/train?{LONG_RUN}&seed=1000")
    try:
        session.start_training()
        _wait_for_progress([session])
        time.sleep(2)
        return _training_rate([session], window)
    finally:
        session.stop_training()
        session.close()


def _first_steps(sessions: list[Session], clicked: list[float], timeout: float = 180) -> list[float | None]:
    """Seconds from each session's click on Start to the first step its page shows (None: none within
    ``timeout``). The headless students are watched in a thread of their own every 0.1 s: a Chromium page's read
    can take seconds on a loaded machine, and would otherwise delay noticing theirs."""
    seen: list[float | None] = [None] * len(sessions)
    deadline = time.monotonic() + timeout

    def watch(indices: list[int], every_s: float) -> None:
        while time.monotonic() < deadline and any(seen[i] is None for i in indices):
            for i in indices:
                if seen[i] is None and sessions[i].steps_done():
                    seen[i] = round(time.monotonic() - clicked[i], 2)
            time.sleep(every_s)

    headless = [i for i, session in enumerate(sessions) if isinstance(session, HeadlessSession)]
    watcher = threading.Thread(target=watch, args=(headless, 0.1), daemon=True)
    watcher.start()
    watch([i for i in range(len(sessions)) if i not in headless], 0.2)
    watcher.join()
    return seen


def _window_rates(sessions: list[Session], seconds: float) -> list[float]:
    """Each session's steps/s over one window of ``seconds``, from its progress line."""
    before, started = [s.steps_done() or 0 for s in sessions], time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - started
    return [((s.steps_done() or 0) - b) / elapsed for s, b in zip(sessions, before, strict=True)]


def _samples(times: list[float], runs: list[tuple[str, float, float]]) -> dict:
    """The raw samples behind the percentiles: the browsers' rerun seconds and the server's page runs."""
    return {"rerun_samples_s": [round(t, 3) for t in times],
            "server_run_samples": [[page, seconds, cpu] for page, seconds, cpu in runs]}


def _spread(values: list[float]) -> dict:
    """The median of ``values`` with their least and greatest (rounded)."""
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2), "max": round(max(values), 2)}


def scenario_start(room: Classroom, server: Server, sessions: int, window: float, repeats: int = 3) -> dict:
    """N sessions press Start; then ``repeats`` windows of ``window / repeats`` seconds each measure every run's
    steps/s (the median and spread over the windows: one window's figures depend on whose turn it was)."""
    opened = [room.open(f"{server.url}/train?{LONG_RUN}&seed={i + 1}", i) for i in range(sessions)]
    try:
        with server.peak_memory() as memory:
            clicked = []
            for session in opened:
                session.start_training()
                clicked.append(time.monotonic())
            firsts = _first_steps(opened, clicked)
            stacks = server.stacks() if None in firsts else ""
            time.sleep(2)
            windows = [_window_rates(opened, window / repeats) for _ in range(repeats)]
        per_run = [statistics.median(rates) for rates in zip(*windows, strict=True)]
        fairness = [max(rates) / min(rates) if min(rates) > 0 else None for rates in windows]
        waited = sorted(t for t in firsts if t is not None)
        return {"steps_per_s": round(sum(per_run), 2), "per_run_steps_per_s": [round(r, 2) for r in per_run],
                "total_steps_per_s_by_window": [round(sum(rates), 2) for rates in windows],
                "fairness_max_over_min": round(max(per_run) / min(per_run), 2) if min(per_run) > 0 else None,
                "fairness_by_window": [None if f is None else round(f, 2) for f in fairness],
                "first_step_s": firsts, "first_step_in_chromium_s": [t for i, t in enumerate(firsts) if room.real(i)],
                "first_step_p50_s": statistics.median(waited) if waited else None,
                "first_step_p95_s": waited[min(len(waited) - 1, int(0.95 * len(waited)))] if waited else None,
                "first_step_max_s": waited[-1] if waited else None,
                "never_stepped": firsts.count(None), "server_stacks_then": stacks,
                "never_stepped_diagnosis": [s.diagnosis() for s, t in zip(opened, firsts, strict=True)
                                            if t is None and isinstance(s, HeadlessSession)],
                "start_spread_s": round(clicked[-1] - clicked[0], 2),
                "page_exceptions": sum(s.exceptions() for s in opened), "memory_mb": server.memory_mb(),
                "peak_memory": memory, "slow_reads": sum(s.slow_reads for s in opened),
                "failed_stops": sum(not s.stop_training() for s in opened)}
    finally:
        for session in opened:
            session.close()


def scenario_mixed(room: Classroom, server: Server, sessions: int, window: float) -> dict:
    trainers = [room.open(f"{server.url}/train?seed={i + 1}", i) for i in range(2)]  # two runs, not one shared
    explorers = [room.open(server.url, i) for i in range(2, sessions)]
    opened = trainers + explorers
    try:
        for session in trainers:
            session.start_training()
        _wait_for_progress(trainers)
        first, started, offset = sum(s.steps_done() or 0 for s in trainers), time.perf_counter(), server.log_size()
        times = _explore_for(explorers, window)
        rate = (sum(s.steps_done() or 0 for s in trainers) - first) / (time.perf_counter() - started)
        runs = server.runs_since(offset)
        return {"steps_per_s": round(rate, 2), "reruns": _percentiles(times),
                "server_runs": _server_runs(runs), **_samples(times, runs),
                "page_exceptions": sum(s.exceptions() for s in opened), "memory_mb": server.memory_mb()}
    finally:
        for session in trainers:
            session.stop_training()
        for session in opened:
            session.close()


def scenario_idle(room: Classroom, server: Server, sessions: int, window: float) -> dict:
    opened = [room.open(server.url, i) for i in range(sessions)]
    try:
        offset = server.log_size()
        times = _explore_for(opened[sessions // 2:], window)
        runs = server.runs_since(offset)
        return {"reruns": _percentiles(times), "server_runs": _server_runs(runs), **_samples(times, runs),
                "page_exceptions": sum(s.exceptions() for s in opened),
                "memory_mb": server.memory_mb()}
    finally:
        for session in opened:
            session.close()


def _niced_chromium(folder: Path) -> str:
    """A wrapper that starts Chromium in Linux's idle scheduling class.

    Measured: with the browsers on the server's own two cores, Chromium took 1.3 of them and the figures
    measured the browsers, not the server. In a classroom the browsers run on the students' laptops; in
    SCHED_IDLE they get only the CPU the server and its workers leave (nice 19 is not enough: Chromium,
    run as root, raises its own processes' priority).
    """
    wrapper = folder / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec chrt --idle 0 {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def run(sessions: int, scenarios: list[str], window: float, options: tuple[str, ...] = (),
        browser_nice: bool = True, browsers: int | None = None) -> dict:
    results: dict = {"machine": machine(), "sessions": sessions, "window_s": window, "cpus": os.cpu_count(),
                     "options": list(options), "browser_nice": browser_nice,
                     "browsers": sessions if browsers is None else min(browsers, sessions)}
    with Classroom(browsers, browser_nice) as room:
        server = Server(options)
        try:
            room.open(server.url).close()  # a first page starts the warm-up, which must not share "alone"
            time.sleep(WARM_UP_S)
            alone_runs = [scenario_alone(room, server, window)]
            time.sleep(SESSION_END_S)
            runners = {"start": lambda: scenario_start(room, server, sessions, window),
                       "mixed": lambda: scenario_mixed(room, server, sessions, window),
                       "idle": lambda: scenario_idle(room, server, sessions, window)}
            for name in scenarios:
                results[name] = runners[name]()
                time.sleep(SESSION_END_S)  # closed tabs' sessions end and their jobs stop
            alone_runs.append(scenario_alone(room, server, window))  # before and after: the machine drifts
            alone = statistics.mean(alone_runs)
            results["alone_steps_per_s"] = round(alone, 2)
            results["alone_steps_per_s_runs"] = [round(rate, 2) for rate in alone_runs]
            for figures in results.values():
                if isinstance(figures, dict) and "steps_per_s" in figures and alone:
                    figures["vs_alone"] = round(figures["steps_per_s"] / alone, 2)
            results["server_tracebacks"] = server.tracebacks()
        finally:
            server.stop()
    return results


def figures_of(results: dict) -> dict:
    """The run's figures (bench.stats) from :func:`run`'s results, each with its samples: "alone" before and
    after; per scenario the total steps/s of each window (start), against alone, each run's steps/s, each
    student's first step, the browsers' reruns and the server's page runs (with p95), memory, exceptions."""
    figures: dict = {"alone_steps_per_s": figure(results["alone_steps_per_s_runs"], "steps/s", "higher")}
    alone = results["alone_steps_per_s"]
    start = results.get("start")
    if start:
        windows = start["total_steps_per_s_by_window"]
        figures["start"] = {
            "window_total_steps_per_s": figure(windows, "steps/s", "higher"),
            "window_total_vs_alone": figure([total / alone for total in windows] if alone else [0.0], "x", "higher"),
            "run_steps_per_s": figure(start["per_run_steps_per_s"], "steps/s", "higher"),
            "peak_memory_mb": figure([start["peak_memory"]["peak_total_mb"]], "MB", "lower"),
            "peak_pss_mb": figure([start["peak_memory"].get("peak_pss_mb", 0.0)], "MB", "lower"),
            "fairness_max_over_min": figure([start.get("fairness_max_over_min") or 0.0], "x", "lower"),
            "page_exceptions": figure([start["page_exceptions"]], "", "lower")}
        if stepped := [t for t in start["first_step_s"] if t is not None]:
            figures["start"]["first_step_s"] = figure(stepped, "s", "lower", p95=True)
        if drawn := [t for t in start.get("first_step_in_chromium_s", []) if t is not None]:
            figures["start"]["first_step_in_chromium_s"] = figure(drawn, "s", "lower", p95=True)
    for name in ("mixed", "idle"):
        scenario = results.get(name)
        if not scenario:
            continue
        figures[name] = {}
        if "steps_per_s" in scenario:
            figures[name]["steps_per_s"] = figure([scenario["steps_per_s"]], "steps/s", "higher")
            figures[name]["vs_alone"] = figure([scenario["steps_per_s"] / alone if alone else 0.0], "x", "higher")
        if scenario["rerun_samples_s"]:
            figures[name]["browser_rerun_s"] = figure(scenario["rerun_samples_s"], "s", "lower", p95=True)
        if scenario["server_run_samples"]:
            figures[name]["server_run_s"] = figure([s for _, s, _ in scenario["server_run_samples"]], "s", "lower",
                                                   p95=True)
            figures[name]["server_run_cpu_s"] = figure([c for _, _, c in scenario["server_run_samples"]], "s",
                                                       "lower", p95=True)
        figures[name]["server_memory_mb"] = figure([scenario["memory_mb"]["server"]], "MB", "lower")
        figures[name]["workers_memory_mb"] = figure([sum(scenario["memory_mb"]["workers"])], "MB", "lower")
        figures[name]["page_exceptions"] = figure([scenario["page_exceptions"]], "", "lower")
    figures["server_tracebacks"] = figure([results["server_tracebacks"]], "", "lower")
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5, help="browser sessions per scenario (default 5)")
    parser.add_argument("--scenario", action="append", choices=("start", "mixed", "idle"),
                        help="run only these (repeatable; default all three)")
    parser.add_argument("--window", type=float, default=20.0, help="seconds each measurement lasts (default 20)")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="a Streamlit server option for this run, e.g. runner.postScriptGC=true (repeatable)")
    parser.add_argument("--browsers", type=int, metavar="K",
                        help="how many of the sessions are real Chromium tabs (default: all); the others are "
                             "headless students speaking the frontend's protocol (bench/headless_class.py)")
    parser.add_argument("--browsers-compete", action="store_true",
                        help="run Chromium at normal priority (default: idle priority, as if on the students' laptops)")
    parser.add_argument("--out", type=Path,
                        help="JSON file to write (default bench/results/<date>-<time>-<commit>-load.json)")
    args = parser.parse_args(argv)
    scenarios = args.scenario or ["start", "mixed", "idle"]
    results = run(args.sessions, scenarios, args.window, tuple(args.set), browser_nice=not args.browsers_compete,
                  browsers=args.browsers)
    arguments = {"sessions": args.sessions, "scenarios": scenarios, "window": args.window, "set": args.set,
                 "browsers_compete": args.browsers_compete, "browsers": args.browsers}
    measured_on = results.pop("machine")
    try:
        figures = figures_of(results)
    except (KeyError, TypeError, ValueError) as error:  # keep the minutes measured whatever the summary's fault
        figures, results["figures_error"] = {}, f"{type(error).__name__}: {error}"
    doc = document("load", figures, details=results, arguments=arguments, machine_info=measured_on)
    out = save(doc, args.out)
    print(markdown_table(doc))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
