"""`python -m bench.follow --students N`: how fast a class's pages follow the teacher (issue 28: within 2 s).

Starts the dashboard as `make run` does, with a teacher's key; the teacher's presenter view
(``/?teacher=KEY&present=1``) is a Chromium tab, the N students (default 30) are headless students
(bench/headless_class.py) who opened the class's link, so Follow the teacher is on. The teacher opens the pages
of PAGES from the sidebar in turn, ``--rounds`` times; each time, for every student, the seconds from the
teacher's click until the student's page is that page with its title drawn (the student's connection shows it:
the server switched its page and sent the page's elements). A student whose page has not followed within
FOLLOW_TIMEOUT_S counts as lost. The file: bench/results/<date>-<time>-<commit>-follow.json (bench.results)
unless ``--out`` names one; each sample under "details". Figures, never pass/fail; run it alone on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from aecore.jobs.service import new_key
from bench.headless_class import URL_PATHS, HeadlessSession, StudentLoop
from bench.load import CHROMIUM, EXPLORE_PAGES, PROGRESS, Server, Session
from bench.report import markdown_table
from bench.results import document, save
from bench.stats import figure

PAGES = {"Interpolate": "Interpolate and generate", "Inside": "Inside the network",  # title -> its heading
         "Explore": "Explore the latent space", "Home": "Autoencoder Lab"}
FOLLOW_TIMEOUT_S = 30.0
SETTLE_S = 3.0  # between the teacher's moves: the class's pages are done with the last one


def _followed(student: HeadlessSession, url_path: str, heading: str) -> bool:
    """Whether ``student``'s page is ``url_path`` with ``heading`` drawn."""
    return student.loop.call(_showing(student, url_path, heading))


async def _showing(student: HeadlessSession, url_path: str, heading: str) -> bool:
    return student.student.page() == url_path and heading in student.student.texts()


def _teacher_opens(teacher: Session, title: str) -> None:
    page = teacher.page
    if page.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "true":  # the presenter view folds it
        page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()


def measure(students: int, rounds: int) -> dict:
    """Every student's seconds to follow each of the teacher's page changes (None: not within the timeout)."""
    from playwright.sync_api import sync_playwright

    key = new_key()
    os.environ["AECORE_TEACHER_KEY"] = key
    server = Server(())
    loop = StudentLoop()
    samples: list[dict] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            teacher = Session(browser, f"{server.url}/?teacher={key}&present=1")
            class_ = [HeadlessSession(loop, server.url + "/", PROGRESS, EXPLORE_PAGES) for _ in range(students)]
            time.sleep(SETTLE_S)
            for turn in range(rounds):
                for title, heading in PAGES.items():
                    clicked = time.monotonic()
                    _teacher_opens(teacher, title)
                    seen: list[float | None] = [None] * students
                    while None in seen and time.monotonic() - clicked < FOLLOW_TIMEOUT_S:
                        for i, student in enumerate(class_):
                            if seen[i] is None and _followed(student, URL_PATHS[title], heading):
                                seen[i] = round(time.monotonic() - clicked, 3)
                        time.sleep(0.05)
                    samples.append({"round": turn, "page": title, "seconds": seen})
                    teacher.settle()
                    time.sleep(SETTLE_S)
            exceptions = sum(student.exceptions() for student in class_) + teacher.exceptions()
            for student in class_:
                student.close()
            browser.close()
    finally:
        loop.close()
        server.stop()
    return {"samples": samples, "page_exceptions": exceptions, "server_tracebacks": server.tracebacks()}


def figures_of(results: dict) -> dict:
    """The follow times of every student and page change (with p95), per page, and what was lost."""
    every = [t for sample in results["samples"] for t in sample["seconds"] if t is not None]
    lost = sum(t is None for sample in results["samples"] for t in sample["seconds"])
    figures = {"follow_s": figure(every, "s", "lower", p95=True)} if every else {}
    for title in PAGES:
        times = [t for sample in results["samples"] if sample["page"] == title for t in sample["seconds"]
                 if t is not None]
        if times:
            figures[f"follow_s.{title}"] = figure(times, "s", "lower")
    figures["not_followed"] = figure([lost], "", "lower")
    figures["page_exceptions"] = figure([results["page_exceptions"]], "", "lower")
    figures["server_tracebacks"] = figure([results["server_tracebacks"]], "", "lower")
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.follow", description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30, help="headless students following (default 30)")
    parser.add_argument("--rounds", type=int, default=3, help="times the teacher goes through the pages (default 3)")
    parser.add_argument("--out", help="JSON file to write (default bench/results/<date>-<time>-<commit>-follow.json)")
    args = parser.parse_args(argv)
    results = measure(args.students, args.rounds)
    doc = document("follow", figures_of(results), details=results,
                   arguments={"students": args.students, "rounds": args.rounds})
    out = save(doc, Path(args.out) if args.out else None)
    print(markdown_table(doc))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
