"""`python -m bench.train_page`: the Train page's epoch with a browser watching it, against the CLI's epoch.

Issue 30, item 7's other half: bench.suite's ``cli_vs_page`` times the page's training job with no page open.
Here one server (warmed up as bench.load's) and one Chromium tab on the Train page, opened by a link to preset
"ae" with one epoch on a fraction of MNIST (the suite's full scale's); the tab stays open and draws the live
view (charts and reconstructions every second) while the run trains. Each round, taking turns with a fresh
``python -m aecore train`` of the same config:

- ``page_epoch_s``: fit()'s own seconds of the page's epoch (its run's history.json, as the CLI's);
- ``page_click_to_finished_s``: from the click on "Start new run" to the run's job.json saying finished (what
  the student waits, the worker's claim and the data included);
- ``cli_epoch_s`` and ``cli_process_s``: the CLI's epoch, and its whole process (imports and data included);
- ``page_vs_cli_ratio``: cli_epoch_s / page_epoch_s per round (above 1: the page is faster).

The file: bench/results/<date>-<time>-<commit>-train-page.json unless ``--out`` names one. Figures, never
pass/fail. Run it alone: ``flock /tmp/cpu.lock timeout 900 .venv/bin/python -m bench.train_page``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench import machine
from bench.load import CHROMIUM, WARM_UP_S, Server
from bench.pages import _finish
from bench.report import markdown_table
from bench.results import document, save
from bench.stats import REPETITIONS, figure, interleaved, ratios
from bench.suite import SCALES, cli_epoch_seconds

FRACTION = SCALES["full"].fit_fraction
LINK = f"/train?preset=ae&fraction={FRACTION}&epochs=1"
WAIT_S = 600


def _finished_run(server: Server, after: float) -> dict | None:
    """The job record (job.json) of a run that finished after ``after`` (time.time()), else None."""
    for path in (server.folder / "class" / "runs").glob("*/job.json"):
        if path.stat().st_mtime > after:
            record = json.loads(path.read_text())
            if record.get("status") == "finished":
                return {"record": record, "folder": path.parent}
    return None


def page_epoch(page, server: Server, click_s: list[float]) -> float:
    """One epoch started from the open Train tab: fit()'s seconds; the click-to-finished wait goes to ``click_s``."""
    start_button = page.get_by_role("button", name="Start new run")
    start_button.wait_for(state="visible")
    page.wait_for_function("() => ![...document.querySelectorAll('button')].some("
                           "(b) => b.innerText.includes('Start new run') && b.disabled)")
    clicked, started = time.time(), time.perf_counter()
    start_button.click()
    deadline = started + WAIT_S
    while (run := _finished_run(server, clicked)) is None:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the page's epoch did not finish within {WAIT_S} s")
        time.sleep(0.05)
    click_s.append(round(time.perf_counter() - started, 3))
    history = json.loads((run["folder"] / "state" / "history.json").read_text())
    page.get_by_text("Finished 1 epoch").wait_for(state="visible")  # the page has seen it too
    return float(history[-1]["seconds"])


def run(repeats: int) -> tuple[dict, dict]:
    """``repeats`` rounds of the page's epoch and the CLI's, taking turns; the figures and the details."""
    from playwright.sync_api import sync_playwright

    details: dict = {"machine": machine(), "link": LINK, "warm_up_s": WARM_UP_S, "server_tracebacks": 0}
    click_s: list[float] = []
    cli_process_s: list[float] = []
    server = Server()
    try:
        with sync_playwright() as playwright, tempfile.TemporaryDirectory() as folder:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(WAIT_S * 1000)
            page.goto(server.url + LINK)
            time.sleep(WARM_UP_S)  # the server's warm-up (its training worker included) ends first

            def cli_epoch() -> float:
                epoch_s, process_s = cli_epoch_seconds(Path(folder) / f"cli-{len(cli_process_s)}", FRACTION)
                cli_process_s.append(process_s)
                return epoch_s

            seconds = interleaved({"page": lambda: page_epoch(page, server, click_s), "cli": cli_epoch}, repeats)
            browser.close()
    finally:
        _finish(server, details)
    figures = {"page_epoch_s": figure(seconds["page"], "s", "lower"),
               "page_click_to_finished_s": figure(click_s, "s", "lower"),
               "cli_epoch_s": figure(seconds["cli"], "s", "lower"),
               "cli_process_s": figure(cli_process_s, "s", "lower"),
               "page_vs_cli_ratio": figure(ratios(seconds["cli"], seconds["page"]), "x", "higher"),
               "server_tracebacks": figure([details.pop("server_tracebacks")], "", "lower")}
    return figures, details


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.train_page", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPETITIONS, help=f"rounds (default {REPETITIONS})")
    parser.add_argument("--out", type=Path,
                        help="JSON file to write (default bench/results/<date>-<time>-<commit>-train-page.json)")
    args = parser.parse_args(argv)
    figures, details = run(args.repeats)
    measured_on = details.pop("machine")
    doc = document("train-page", figures, details, {"repeats": args.repeats}, measured_on)
    print(markdown_table(doc))
    print(f"\nwrote {save(doc, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
