"""At most a few page bodies run at once in the server; the others wait their turn, first come first served.

When thirty students' pages follow the teacher, thirty runs of the same page start in the same second. Run all at
once, thirty script threads share one interpreter lock with the event loop that sends their elements, and every
page arrives at the end (measured: each body about 0.07 s of CPU and 2-3 s of wall time, every title after about
3 s). Run a few at a time, the first pages are drawn and sent while the others wait, and the event loop gets the
lock far more often (``python -m bench.follow``: see bench/README.md). The teacher's presenter view, which the class
follows, does not wait.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

SLOTS = 8  # page bodies running at once (4 was tried too: a page's first open, its caches filled by the first
# few bodies, then held every slot while thirty waited)
LONGEST_WAIT_S = 5.0  # a body that has waited this long runs anyway: a slow page never holds the others up for long

_slots = threading.BoundedSemaphore(SLOTS)


@contextmanager
def page_slot(*, wait: bool = True) -> Iterator[None]:
    """Around a page's body: wait for one of the SLOTS (at most LONGEST_WAIT_S), then run; ``wait=False`` runs at
    once."""
    acquired = wait and _slots.acquire(timeout=LONGEST_WAIT_S)
    try:
        yield
    finally:
        if acquired:
            _slots.release()
