"""An opt-in log line per page run with its duration: the server's share of a rerun.

Set ``AECORE_LOG_RUN_SECONDS=1`` in the server's environment and each full run
of a page's script logs ``page run: views/explore.py 0.084 s (cpu 0.061 s)`` (at WARNING level: it reaches
the server's log with no logging set up): the wall-clock seconds, and the CPU seconds of the script's own thread.
Wall time well above CPU time is time spent waiting: for the GIL, held by the server's other threads, or for a
core.
``python -m bench.load`` sets it and reads the lines back, so rerun times can be
judged without the browsers that share the machine (their drawing is most of
what a student waits for on two cores).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

ENV_FLAG = "AECORE_LOG_RUN_SECONDS"
LINE_PREFIX = "page run:"


@contextmanager
def logged_duration(path: str) -> Iterator[None]:
    """Around a page's run: log its wall-clock seconds when ENV_FLAG is set (a rerun that raises is logged too)."""
    if os.environ.get(ENV_FLAG) != "1":
        yield
        return
    start, start_cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        log.warning("%s %s %.3f s (cpu %.3f s)", LINE_PREFIX, path, time.perf_counter() - start,
                    time.thread_time() - start_cpu)
