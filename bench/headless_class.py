"""Headless students for ``bench.load --client headless``: :class:`bench.ws_student.Student` behind the calls the
load bench makes of a Chromium tab (start, stop, read the progress line, open a page, count exceptions).

Thirty Chromium tabs on the server's own two cores measured the browsers more than the server (their software
WebGL alone took the machine, and a thirty-session run never ended). In a classroom the browsers run on the
students' laptops; what reaches the server is the websocket traffic, which a headless student sends as the
frontend does, fragment timers included. All of them share one asyncio loop in a thread (about 2 % of a core
for sixty).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aecore.ui.navigation import PAGES
from bench.ws_student import Student

T = TypeVar("T")
URL_PATHS = {spec.title: "" if spec.default else Path(spec.path).stem for spec in PAGES}  # what st.navigation infers
ACTION_TIMEOUT_S = 120.0


class StudentLoop:
    """One asyncio event loop in a daemon thread, which every headless student runs on. At normal priority: it
    costs little, and at idle priority it read the server's messages only when the class's training left a
    core free, so pages looked seconds late and in batches."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, name="headless-students", daemon=True)
        self.thread.start()
        ready.wait()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = ACTION_TIMEOUT_S) -> T:
        """Run ``coroutine`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


async def _now(value_of):
    return value_of()


class HeadlessSession:
    """A student's tab without a browser, with the calls bench.load's Chromium ``Session`` answers."""

    def __init__(self, loop: StudentLoop, url: str, progress: re.Pattern[str], explore_pages: tuple[str, ...]) -> None:
        parts = urlsplit(url)
        self.loop, self.progress, self.explore_pages = loop, progress, explore_pages
        self.student = Student()
        self.last_steps: int | None = None
        self.slow_reads = 0  # never: the page's state is read from what the server sent
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        loop.call(self.student.open(f"{parts.scheme}://{parts.netloc}", path or "/"))

    def timed(self, action: Coroutine[Any, Any, Any]) -> float:
        """Seconds until ``action`` (a page switch, which waits for its script run's end) is done."""
        started = time.perf_counter()
        self.loop.call(action)
        return time.perf_counter() - started

    def open(self, title: str) -> float:
        return self.timed(self.student.goto(URL_PATHS[title]))

    def start_training(self) -> None:
        self.loop.call(self.student.click("Start new run"))

    def stop_training(self) -> bool:
        """Stop this student's run if it trains (Stop is enabled); False when the server did not answer."""
        try:
            if any(self.progress.search(text) for text in self._texts()):
                self.loop.call(self.student.click("Stop", timeout=30))
                self.loop.call(self.student.settle(60))
            return True
        except (TimeoutError, ConnectionError):
            return False

    def steps_done(self) -> int | None:
        """The steps the progress line shows now (epochs done x steps per epoch + step in the epoch)."""
        match = next((found for text in self._texts() if (found := self.progress.search(text))), None)
        if match is None:
            return None
        epoch, step, per_epoch = map(int, match.groups())
        self.last_steps = (epoch - 1) * per_epoch + step
        return self.last_steps

    def explore_once(self, turn: int) -> float:
        """One thing a curious student does without a browser: open another page (clicks on a chart are
        JavaScript's, which a headless student has not)."""
        return self.open(self.explore_pages[turn % len(self.explore_pages)])

    def exceptions(self) -> int:
        return len(self.loop.call(_now(self.student.exceptions_shown)))

    def diagnosis(self) -> dict:
        """What the student's connection went through: for a page that never showed what was awaited."""
        student = self.student
        return {"closed": student.closed, "messages": student.messages, "runs_finished": student.runs_finished,
                "fragment_runs_finished": student.fragment_runs_finished, "runs_interrupted": student.runs_interrupted,
                "reruns_sent": student.reruns_sent, "auto_reruns_sent": student.auto_reruns_sent,
                "cache_misses": student.cache_misses, "message_types": dict(student.message_types),
                "exception_deltas": student.exceptions, "texts": self._texts()[:12]}

    def close(self) -> None:
        self.loop.call(self.student.close())

    def _texts(self) -> list[str]:
        return self.loop.call(_now(self.student.texts))  # the page's tree lives on the loop's thread
