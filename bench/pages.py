"""`python -m bench.pages`: the pages as a user waits for them, in Chromium (issue 30, items 5 and 6).

``--only cold,pages,reload`` picks parts; ``--repeats R`` (default 5) repetitions of each:

- ``cold``: R fresh servers (``streamlit run serve.py`` as `make run`, each with a fresh AECORE_DATA_DIR), each
  opened, as soon as its health endpoint answers, in a fresh context of an already running Chromium: seconds from
  starting the server's process to Home's heading (``h1``) visible and to Home's first reconstruction image loaded
  (targets <= 4 s, <= 6 s; a first repetition may pay a cold disk cache too).
- ``pages``: one server, warmed up as bench.load does (a page opened, then WARM_UP_S); in each of R fresh sessions
  on Home, every page's sidebar link clicked in menu order (Home last), then one rerun of it (the ``r`` key, as
  after a click on a widget): seconds on the page's clock from the action to the frame after its full run's
  ``script_finished`` message (:class:`Tab`), and the server's own seconds for each run (its run-timing log) in
  the details (targets: first open <= 2 s, rerun <= 0.5 s).
- ``reload``: ``/train?dataset=digits&epochs=400``, Start new run, then R reloads, each timed from
  ``page.reload()`` to the run's progress line ("step S of T") shown again (target <= 5 s); the run is stopped.

Chromium runs at normal priority, one tab at a time. The file: bench/results/<date>-<time>-<commit>-pages.json
(bench.results) unless ``--out`` names one; raw times per repetition, the pages, the servers' tracebacks and the
machine's load under "details". Figures, never pass/fail. Run it alone on the machine:
``flock /tmp/cpu.lock timeout 900 .venv/bin/python -m bench.pages``.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import sys
import time
from pathlib import Path

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from aecore.ui.navigation import HOME, PAGES
from bench import machine
from bench.load import CHROMIUM, WARM_UP_S, Server, Session
from bench.report import markdown_table
from bench.results import document, save
from bench.stats import figure
from bench.ws_student import DONE

PARTS = ("cold", "pages", "reload")
TARGETS_S = {"cold_start_heading_s": 4.0, "cold_start_reconstruction_s": 6.0, "open_s": 2.0, "rerun_s": 0.5,
             "reload_progress_s": 5.0}
ORDER = [spec.title for spec in PAGES if spec is not HOME] + [HOME.title]  # a session starts on Home
TRAINING = "/train?dataset=digits&epochs=400"  # about 4,400 steps: still training through the reloads
STEP = re.compile(r"step (\d+) of (\d+)")
WAIT_MS = 120_000
# Home's example strip: eight columns of input, code (numbers, or coloured cells and arrows), reconstruction.
RECONSTRUCTION_SHOWN = """() => {
  const column = document.querySelector("[data-testid='stMain'] [data-testid='stColumn']:has([data-testid='stImage'])");
  const items = column ? [...column.querySelectorAll("[data-testid='stElementContainer']")] : [];
  if (items.length < 3) return false;
  const recon = items[items[1].querySelector("code") ? 2 : 4];
  const img = recon && recon.querySelector("[data-testid='stImage'] img");
  return Boolean(img && img.complete && img.naturalWidth > 0);
}"""
# Every websocket message the page receives: the bytes of the small ones, and the time a frame after it came.
WATCH_MESSAGES = """(() => {
  const Native = window.WebSocket;
  window.__frames = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", ({data}) => {
        const frame = {drawn: null, bytes: data instanceof ArrayBuffer && data.byteLength <= 16384
          ? btoa(Array.from(new Uint8Array(data), byte => String.fromCharCode(byte)).join("")) : null};
        window.__frames.push(frame);
        requestAnimationFrame(() => setTimeout(() => { frame.drawn = performance.now(); }));
      });
    }
  };
})();"""
RUN_ENDS = (DONE, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)


class Tab(Session):
    """bench.load's browser tab, its action timed from the websocket's messages (:meth:`timed`).

    Why not the script-state attribute (bench.load's WATCH_RUNS): measured here, a run of a few milliseconds often
    never shows "running" in the DOM (React renders its start and end at once), and every student's page runs a
    fragment each second (aecore.ui.follow's watcher), so the run timed was often that fragment's, a second late.
    """

    def __init__(self, browser, url: str) -> None:  # Session's, with the messages watched from the first one
        self.last_steps, self.slow_reads = None, 0
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.add_init_script(WATCH_MESSAGES)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.page.goto(url)
        self.settle()

    def timed(self, action) -> float | None:
        """Seconds from ``action()`` to the frame after the end of the first full script run it started (its
        ``new_session`` without fragments, then its ``script_finished``), on the page's clock; None if no full run
        started within 5 s."""
        first, t0 = self.page.evaluate("[window.__frames.length, performance.now()]")
        action()
        started_by, deadline = time.monotonic() + 5, time.monotonic() + WAIT_MS / 1000
        while time.monotonic() < deadline:
            started = False
            for drawn, data in self.page.evaluate("n => window.__frames.slice(n).map(f => [f.drawn, f.bytes])", first):
                message = ForwardMsg.FromString(base64.b64decode(data)) if data else None
                if message is None or message.metadata.run.fragment_ids:
                    continue
                kind = message.WhichOneof("type")
                started = started or kind == "new_session"
                if started and kind == "script_finished" and message.script_finished in RUN_ENDS and drawn:
                    return (drawn - t0) / 1000
            if not started and time.monotonic() > started_by:
                return None
            time.sleep(0.05)
        raise TimeoutError(f"no script run ended within {WAIT_MS / 1000:.0f} s")

    def rerun(self) -> float | None:
        """Seconds of a rerun of the page shown (Streamlit's ``r`` key, the focus on the page's body)."""
        self.page.evaluate("document.activeElement && document.activeElement.blur()")
        return self.timed(lambda: self.page.keyboard.press("r"))


def _finish(server: Server, details: dict) -> None:
    """Stop ``server``, count its log's tracebacks into ``details`` (the log's tail kept if any) and remove its
    folder."""
    server.stop()
    count = server.tracebacks()
    details["server_tracebacks"] = details.get("server_tracebacks", 0) + count
    if count:
        details.setdefault("traceback_logs", []).append(server.log.read_text(errors="replace")[-3000:])
    shutil.rmtree(server.folder, ignore_errors=True)


def cold_starts(browser, repeats: int, details: dict) -> dict:
    """``repeats`` fresh servers, each opened in a fresh context: seconds from the server's start to its health
    endpoint answering, to Home's heading visible and to its first reconstruction shown (one a repetition)."""
    times: dict = {"heading_s": [], "reconstruction_s": [], "health_s": []}
    for _ in range(repeats):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()  # the browser is ready before the server starts, as a teacher's would be
        start, server = time.perf_counter(), None
        try:
            server = Server()  # returns once /_stcore/health answers (polled every 0.3 s)
            times["health_s"].append(round(time.perf_counter() - start, 3))
            page.goto(server.url, wait_until="commit", timeout=WAIT_MS)
            page.get_by_role("heading", name="Autoencoder Lab", level=1).wait_for(state="visible", timeout=WAIT_MS)
            times["heading_s"].append(round(time.perf_counter() - start, 3))
            page.wait_for_function(RECONSTRUCTION_SHOWN, timeout=WAIT_MS)
            times["reconstruction_s"].append(round(time.perf_counter() - start, 3))
        finally:
            context.close()
            if server is not None:
                _finish(server, details)
    return times


def page_opens(browser, server: Server, repeats: int) -> dict:
    """In each of ``repeats`` fresh sessions on Home, every page's first open from the sidebar and one rerun, in
    ORDER: {"open_s": {title: [seconds or None a session]}, "rerun_s": {...}, "server_open_s" and "server_rerun_s"
    (the server's logged seconds of each action's page runs), "exceptions": {title: count}} (None: no script run
    started within 5 s of the action)."""
    kinds = ("open_s", "rerun_s", "server_open_s", "server_rerun_s")
    times: dict = {kind: {title: [] for title in ORDER} for kind in kinds}
    times["exceptions"] = {title: 0 for title in ORDER}
    paths = {spec.title: spec.path for spec in PAGES}
    for _ in range(repeats):
        tab = Tab(browser, server.url)
        try:
            for title in ORDER:
                for kind in ("open_s", "rerun_s"):
                    offset = server.log_size()
                    seconds = tab.open(title) if kind == "open_s" else tab.rerun()
                    times[kind][title].append(None if seconds is None else round(seconds, 3))
                    times["server_" + kind][title].append(
                        [ran for page, ran, _ in server.runs_since(offset) if page == paths[title]])
                times["exceptions"][title] += tab.exceptions()
        finally:
            tab.close()
    return times


def reloads(browser, url: str, repeats: int) -> dict:
    """A training run started on the Train page, then, once it steps, ``repeats`` reloads: seconds from each reload
    to the progress line shown again, the steps it showed (the same run goes on), and whether the run was stopped."""
    session = Tab(browser, url + TRAINING)
    page = session.page
    progress = page.get_by_test_id("stProgress").get_by_text(STEP)
    times: dict = {"reload_s": [], "steps_shown": [], "stopped": False}
    try:
        session.start_training()
        deadline = time.monotonic() + WAIT_MS / 1000
        while not session.steps_done() and time.monotonic() < deadline:  # queued, or its first step not yet drawn
            time.sleep(0.5)
        times["steps_before"] = session.steps_done()
        for _ in range(repeats):
            start = time.perf_counter()
            page.reload(wait_until="commit", timeout=WAIT_MS)
            progress.wait_for(timeout=WAIT_MS)
            times["reload_s"].append(round(time.perf_counter() - start, 3))
            times["steps_shown"].append(session.steps_done())
        session.settle()
        times["stopped"] = session.stop_training()
    except Exception as error:  # kept with what the page showed; the reloads timed so far still count
        times["error"] = f"{type(error).__name__}: {error}"[:3000]
        times["page_text"] = page.get_by_test_id("stMain").inner_text(timeout=10_000)[:2000]
    finally:
        session.close()
    return times


def _measure(details: dict, part: str, call) -> None:
    """``details[part] = call()``, or the error as ``details[part + "_error"]``: the other parts' minutes count."""
    try:
        details[part] = call()
    except Exception as error:  # Playwright's TimeoutError, a server that did not start...
        details[f"{part}_error"] = f"{type(error).__name__}: {error}"[:3000]
    details["load_1min"][f"after_{part}"] = round(os.getloadavg()[0], 2)


def run(parts: list[str], repeats: int) -> dict:
    """The chosen ``parts`` with ``repeats`` repetitions each; everything measured, as details."""
    from playwright.sync_api import sync_playwright

    details: dict = {"machine": machine(), "repeats": repeats, "parts": parts, "page_order": ORDER,
                     "targets_s": TARGETS_S, "warm_up_s": WARM_UP_S, "server_tracebacks": 0,
                     "load_1min": {"start": round(os.getloadavg()[0], 2)}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            if "cold" in parts:
                _measure(details, "cold", lambda: cold_starts(browser, repeats, details))
            if "pages" in parts or "reload" in parts:
                server = Server()
                try:
                    Tab(browser, server.url).close()  # a first page starts the server's warm-up: let it end
                    time.sleep(WARM_UP_S)
                    if "pages" in parts:
                        _measure(details, "pages", lambda: page_opens(browser, server, repeats))
                    if "reload" in parts:
                        _measure(details, "reload", lambda: reloads(browser, server.url, repeats))
                finally:
                    _finish(server, details)
        finally:
            browser.close()
    return details


def _seconds(samples: list, p95: bool | None = None) -> dict | None:
    measured = [sample for sample in samples if sample is not None]
    return figure(measured, "s", "lower", p95=p95) if measured else None


def figures_of(details: dict) -> dict:
    """The figures (bench.stats) of :func:`run`'s details: cold start to the heading, the first reconstruction and
    the health endpoint; per page its first open and rerun (``open_s.<title>``, ``rerun_s.<title>``) and all pages
    together with p95; reload to the progress line; the servers' tracebacks. Actions that started no run (None)
    are left out of the samples; a figure with no sample at all is left out."""
    figures: dict = {}
    for key, samples in details.get("cold", {}).items():  # heading_s, reconstruction_s, health_s
        if (value := _seconds(samples)) is not None:
            figures[f"cold_start_{key}"] = value
    if timed := details.get("pages"):
        for kind in ("open_s", "rerun_s"):
            per_page = {title: _seconds(samples) for title, samples in timed[kind].items()}
            figures[kind] = {title: value for title, value in per_page.items() if value is not None}
            if (every := _seconds([s for samples in timed[kind].values() for s in samples], p95=True)) is not None:
                figures[f"{kind}_all"] = every
    if (reload := details.get("reload")) and (value := _seconds(reload["reload_s"])) is not None:
        figures["reload_progress_s"] = value
    figures["server_tracebacks"] = figure([details.get("server_tracebacks", 0)], "", "lower")
    return figures


def over_target(figures: dict) -> list[str]:
    """Lines naming each figure whose median is over its target (TARGETS_S)."""
    lines = []
    for name, target in TARGETS_S.items():
        value = figures.get(name)
        found = value.items() if isinstance(value, dict) and "median" not in value else [(None, value)]
        for title, f in found:
            if f is not None and f["median"] > target:
                lines.append(f"{name}{'.' + title if title else ''}: median {f['median']} s > {target} s")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of each part (default 5)")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"parts to run, comma-separated (default {','.join(PARTS)})")
    parser.add_argument("--out", type=Path,
                        help="JSON file to write (default bench/results/<date>-<time>-<commit>-pages.json)")
    args = parser.parse_args(argv)
    if unknown := set(args.only.split(",")) - set(PARTS):
        parser.error(f"unknown parts {', '.join(sorted(unknown))}: choose among {', '.join(PARTS)}")
    parts = [part for part in PARTS if part in args.only.split(",")]
    details = run(parts, args.repeats)
    measured_on = details.pop("machine")
    try:
        figures = figures_of(details)
    except (KeyError, TypeError, ValueError) as error:  # keep the minutes measured whatever the summary's fault
        figures, details["figures_error"] = {}, f"{type(error).__name__}: {error}"
    doc = document("pages", figures, details=details, arguments={"repeats": args.repeats, "only": parts},
                   machine_info=measured_on)
    out = save(doc, args.out)
    print(markdown_table(doc))
    print("\nover target:\n" + ("\n".join(over_target(figures)) or "none"))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
