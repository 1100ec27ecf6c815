"""Follow the teacher: the view the teacher's presenter view shows, broadcast to the class's pages.

One :class:`ClassView` lives in the server's process (:func:`shared_class_view`). The teacher's presenter view
:meth:`~ClassView.publish` es the view it shows after each of its runs: a page, the page's state as query parameters
(what a Share link carries) and the lesson tour's step, if one plays. Only the holder of the teacher's key may
publish; a page of the teacher's presenter view also says it is still there (:meth:`~ClassView.present`), and a
view whose teacher has not been seen for :data:`LIVE_S` is no longer followed.

Each student's page checks in once a second (:meth:`~ClassView.check_in`): it says whether it follows and gets
back a version number, which changes only when the teacher's view does. That is all a page does each second; only
when the number differs from the one it applied does it ask for the view (:meth:`~ClassView.current`). The
presenter reads the class as counts, never names (:meth:`~ClassView.counts`).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

LIVE_S = 30.0  # a broadcast is followed while the teacher's presenter view checked in this recently
SEEN_S = 5.0  # a student counts while their page checked in this recently (it does every second)
FORGET_S = 600.0  # a student not seen for this long leaves the table


@dataclass(frozen=True)
class TourStep:
    """The lesson tour's step on the teacher's screen: the tour's title, the step's index and count, its caption."""

    title: str
    index: int
    count: int
    caption: str


@dataclass(frozen=True)
class View:
    """A view of the dashboard: page ``page`` (its script's path) showing ``params`` (query parameters, as
    :func:`aecore.ui.links.view_params` writes them), with the tour's step ``tour``; ``version`` numbers it."""

    page: str
    params: tuple[tuple[str, str], ...]
    tour: TourStep | None = None
    version: int = 0

    @property
    def query(self) -> dict[str, str]:
        """The view's parameters as a dict."""
        return dict(self.params)


class ClassView:
    """The teacher's view for the class (see the module): written by the teacher's key alone, read by everyone."""

    def __init__(self, teacher_key: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._teacher_key, self._clock = teacher_key, clock
        self._lock = threading.Lock()
        self._view: View | None = None
        self._version = 0
        self._presented_at = -float("inf")
        self._students: dict[str, tuple[float, bool]] = {}  # by browser key: (last check-in, following)

    def is_teacher(self, key: str | None) -> bool:
        """Whether ``key`` is the teacher's (compared in constant time)."""
        return isinstance(key, str) and secrets.compare_digest(key, self._teacher_key)

    def _check_teacher(self, key: str | None) -> None:
        if not self.is_teacher(key):
            raise PermissionError("only the teacher's presenter view can lead the class")

    # ------------------------------------------------------------------------------ the teacher

    def present(self, key: str) -> None:
        """The teacher's presenter view is still there (its broadcast stays live)."""
        self._check_teacher(key)
        with self._lock:
            self._presented_at = self._clock()

    def publish(self, key: str, page: str, params: Mapping[str, str], tour: TourStep | None = None, *,
                refine: bool = False) -> int:
        """The teacher's presenter view shows ``page`` with ``params`` (and ``tour``'s step): the class follows it.
        The version goes up only when the view changed. With ``refine`` (a page's run ending, which published as it
        started), ``params`` that only add values to the same page's view keep its version: they are the defaults
        its new widgets were drawn with, which the pages that took the view drew too. A key other than the
        teacher's: PermissionError."""
        self._check_teacher(key)
        items = tuple(sorted((str(name), str(text)) for name, text in params.items()))
        with self._lock:
            self._presented_at = self._clock()
            shown = self._view
            if (refine and shown is not None and (shown.page, shown.tour) == (page, tour)
                    and set(shown.params) < set(items)):
                self._view = View(page, items, tour, self._version)
            elif shown is None or (shown.page, shown.params, shown.tour) != (page, items, tour):
                self._version += 1
                self._view = View(page, items, tour, self._version)
            return self._version

    # ------------------------------------------------------------------------------ the class

    def _live(self) -> bool:
        return self._view is not None and self._clock() - self._presented_at <= LIVE_S

    def live_version(self) -> int:
        """The version of the view to follow now; 0 when there is none (no teacher presenting for LIVE_S)."""
        with self._lock:
            return self._version if self._live() else 0

    def check_in(self, key: str, following: bool) -> int:
        """A student's page, every second: it is there and follows (or not). Returns :meth:`live_version`. The
        teacher's own pages are not counted."""
        now = self._clock()
        teacher = self.is_teacher(key)
        with self._lock:
            if not teacher:
                self._students[key] = (now, following)
            return self._version if self._live() else 0

    def current(self) -> View | None:
        """The view to follow now, or None (see :meth:`live_version`)."""
        with self._lock:
            return self._view if self._live() else None

    def counts(self) -> tuple[int, int]:
        """(following, exploring): the students whose pages checked in within :data:`SEEN_S`, no names."""
        now = self._clock()
        with self._lock:
            for key in [key for key, (seen, _) in self._students.items() if now - seen > FORGET_S]:
                del self._students[key]
            recent = [following for seen, following in self._students.values() if now - seen <= SEEN_S]
        return sum(recent), len(recent) - sum(recent)


_shared: ClassView | None = None
_shared_lock = threading.Lock()


def shared_class_view(teacher_key: str) -> ClassView:
    """This process's class view (made on first use), led by ``teacher_key`` (the job service's)."""
    global _shared
    shared = _shared
    if shared is not None and shared.is_teacher(teacher_key):
        return shared
    with _shared_lock:
        if _shared is None or not _shared.is_teacher(teacher_key):
            _shared = ClassView(teacher_key)
        return _shared
