"""Follow the teacher: the class's pages move with the teacher's presenter view.

The teacher's presenter view (a browser holding the teacher's key, in the presenter view) publishes the view it
shows after each of its runs, and once a second from a small fragment that also draws "N following, M exploring"
in a corner: its page, the page's state (what a Share link carries) and the lesson tour's step
(:class:`aecore.jobs.class_view.ClassView`, one per server process). A student's page with **Follow the teacher**
on (the default; a toggle in the sidebar) checks a version number once a second (a fragment in the sidebar that
does nothing else) and, when it changes, reruns: :func:`before_page` then puts the teacher's view into session
state (:func:`aecore.ui.links.restore_view`, as a tour's step does) and switches to its page, a model the student
has not loaded yet included. The caption of the teacher's tour step shows above the page.

A student who changes a control breaks away: the view their page shows after a run is kept
(:func:`around_page`), and a run that starts with another view (a widget moved, another page opened) turns
Follow off; a thin banner then says so, with one click back to the teacher's view. The teacher's own pages never
follow, and nothing but the teacher's key can publish.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from aecore.jobs.class_view import ClassView, TourStep, shared_class_view
from aecore.ui import links, palette, presenter, send_pacing, session_wake, tour_bar
from aecore.ui.identity import browser_key
from aecore.ui.shared_resources import job_service

FOLLOW_KEY = "follow_teacher"  # session key: whether this student follows (a plain key: see presenter.TOGGLE_KEY)
TOGGLE_KEY = "follow_toggle"  # the sidebar toggle's own key
APPLIED_KEY = "follow_applied"  # session key: the View this session took last
SHOWN_KEY = "follow_shown"  # session key: (page, view params) after the last run: a later difference is the student's
RETRIED_KEY = "follow_retried"  # session key: the version taken a second time (see around_page)
PUBLISHED_KEY = "follow_published"  # the teacher's session key: the version it published last
POLL_S = 1.0  # a student's page looks for a new view this often (the teacher's change shows within 2 s)

_CSS = f"""
<style>
.st-key-follow_banner {{ background: {palette.PALE_BLUE}; border-left: 3px solid {palette.DEEP_BLUE};
                         padding: 0 0.5rem !important; }}
.st-key-follow_banner [data-testid="stMarkdownContainer"] {{ margin-bottom: 0 !important; }}
.st-key-follow_banner p {{ margin: 0 !important; font-size: 0.9rem; color: {palette.INK}; }}
.st-key-follow_banner button {{ min-height: 1.6rem; padding: 0 0.4rem; }}
.follow-counts {{ position: fixed; right: 1rem; bottom: 0.6rem; z-index: 1000; background: {palette.PALE_BLUE};
                  border: 1px solid {palette.DEEP_BLUE}; border-radius: 1rem; padding: 0.1rem 0.7rem;
                  font-size: 0.8rem; color: {palette.DEEP_BLUE}; }}
</style>
"""


_PRESENT_CSS = """
<style>
[data-testid="stHeader"], [data-testid="stHeader"] * { pointer-events: none !important; }
[data-testid="stHeader"] button, [data-testid="stHeader"] button * { pointer-events: auto !important; }
</style>
"""


def class_view() -> ClassView:
    """The server's class view, led by the job service's teacher key."""
    return shared_class_view(job_service().teacher_key)


def following() -> bool:
    """Whether this session follows the teacher (on by default)."""
    return bool(st.session_state.get(FOLLOW_KEY, True))


def tour_step(path: str) -> TourStep | None:
    """The step of the lesson tour this session plays, while it shows page ``path`` (the step's)."""
    state = st.session_state
    tour = state.get(tour_bar.TOUR_KEY)
    if tour is None:
        return None
    index = state.get(tour_bar.STEP_KEY, 0)
    step = tour.steps[index]
    return TourStep(tour.title, index, len(tour.steps), step.caption) if step.page == path else None


def _shown(path: str) -> tuple[str, dict[str, str]]:
    return path, links.view_params(path)


def _take(path: str, view: ClassView) -> None:
    """Put the teacher's view into session state, before any widget of this run; switch to its page."""
    shown = view.current()
    if shown is None:
        return
    state = st.session_state
    state[APPLIED_KEY] = shown
    state.pop(SHOWN_KEY, None)  # the run drawing the teacher's view keeps it as the view to compare with
    tour_bar.end()  # a tour of the student's own gives way to the teacher's
    notes = links.restore_view(shown.page, shown.query)
    if notes:
        state[links.NOTES_KEY] = [*state.get(links.NOTES_KEY, []), *notes]
    if shown.page != path:
        st.switch_page(shown.page)


def _toggled() -> None:
    st.session_state[FOLLOW_KEY] = st.session_state[TOGGLE_KEY]
    st.session_state.pop(APPLIED_KEY, None)  # on again: the teacher's view now, even if it did not change


def follow_again() -> None:
    """(A callback) follow the teacher again: the next run takes the teacher's view."""
    st.session_state[FOLLOW_KEY] = True
    st.session_state.pop(APPLIED_KEY, None)


def _toggle() -> None:
    if st.session_state.get(TOGGLE_KEY) != following():
        st.session_state[TOGGLE_KEY] = following()
    st.sidebar.toggle("Follow the teacher", key=TOGGLE_KEY, on_change=_toggled,
                      help="Your page shows what the teacher's screen shows, page and settings, as it changes. "
                           "Changing anything yourself stops following.")


def _catch_up(path: str, view: ClassView, version: int) -> None:
    """A following student's page, before its widgets: breaks away if the student changed the view since the last
    run; else takes the teacher's view if it is new (and switches to its page)."""
    state = st.session_state
    if not (version and following()):
        return
    if SHOWN_KEY in state and state[SHOWN_KEY] != _shown(path):
        state[FOLLOW_KEY] = False  # the student changed something: they explore on their own
        return
    applied = state.get(APPLIED_KEY)
    if applied is None or applied.version != version:
        _take(path, view)


@st.fragment(run_every=POLL_S)
def _watch() -> None:
    """A student's page, every second: one version number, compared; a new one reruns the page, whose run takes
    the view (:func:`before_page`). Not taken here: a page switched to from a fragment's run was sometimes left
    blank in Chromium (its run ended, its elements never shown), a rerun of the whole page never."""
    state = st.session_state
    version = class_view().check_in(browser_key(), following())
    applied = state.get(APPLIED_KEY)
    if version and following() and (applied is None or applied.version != version):
        st.rerun()


def _banner() -> None:
    if presenter.presenting():  # the presenter view's header, transparent, lies over the banner: clicks go through
        st.html(_PRESENT_CSS)
    with st.container(key="follow_banner", horizontal=True, vertical_alignment="center", gap="small"):
        st.markdown(":material/explore: You are exploring on your own", width="content")
        st.button("Follow the teacher again", key="follow_again", on_click=follow_again, type="tertiary",
                  icon=":material/co_present:")


def before_page(path: str) -> None:
    """In app.py, before the page ``path`` and its sidebar draw. The teacher's presenter view: says it is there. A
    student's page: breaks away if the student changed the view since the last run; takes the teacher's new view
    (which may switch pages); then the sidebar's toggle and watcher, and the banner or the tour's caption."""
    view, key, state = class_view(), browser_key(), st.session_state
    if view.is_teacher(key):
        if presenter.presenting():
            view.present(key)
        return
    version = view.live_version()
    _catch_up(path, view, version)
    session_wake.listen(following())  # a new view reruns this page at once, not at the watcher's next tick
    _toggle()
    with st.sidebar:
        _watch()
    if not version:
        return
    st.html(_CSS)
    if not following():
        _banner()
    elif (applied := state.get(APPLIED_KEY)) is not None and applied.tour and applied.page == path \
            and tour_bar.TOUR_KEY not in state:
        tour = applied.tour
        tour_bar.draw_caption(path, tour.title, tour.index, tour.count, tour.caption)


def _publish(view: ClassView, key: str, path: str, *, refine: bool = False) -> None:
    """The teacher's view now: published (``refine``: see :meth:`ClassView.publish`), and if it is new, the following
    pages are asked to take it at once."""
    state = st.session_state
    version = view.publish(key, path, links.view_params(path), tour_step(path), refine=refine)
    if version != state.get(PUBLISHED_KEY):
        state[PUBLISHED_KEY] = version
        session_wake.rerun_listeners()


@st.fragment(run_every=POLL_S)
def _lead() -> None:
    """The teacher's presenter view, every second: publish the view (a change made in a page's fragment too) and
    draw the class's counts."""
    view, key = class_view(), browser_key()
    path = st.session_state.get(links.PAGE_KEY)
    if path:
        _publish(view, key, path)
    following_now, exploring = view.counts()
    st.markdown(f"<div class='follow-counts'>{following_now} following, {exploring} exploring</div>",
                unsafe_allow_html=True)


def _differs(shown: dict[str, str], view: ClassView, applied) -> bool:
    """Whether a page showing ``shown`` differs from the teacher's view ``applied`` (as the teacher's page has refined
    it since, under the same version): in a value the view names (one it leaves out is the page's default here and
    on the teacher's page)."""
    current = view.current()
    wanted = current.query if current is not None and current.version == applied.version else applied.query
    return any(shown.get(name) != text for name, text in wanted.items())


def _check_taken(path: str) -> None:
    """After a following page drew the teacher's view: if it shows another one (a watcher tick in flight during the
    page switch can bring back a control's old value), take the view once more at the next tick."""
    state, applied = st.session_state, st.session_state.get(APPLIED_KEY)
    if (following() and applied is not None and applied.page == path and state.get(RETRIED_KEY) != applied.version
            and _differs(links.view_params(path), class_view(), applied)):
        state[RETRIED_KEY] = applied.version
        state.pop(APPLIED_KEY)


@contextmanager
def around_page(path: str) -> Iterator[None]:
    """Around the run of page ``path``: a student's page keeps the view it ended with (even a run a rerun cut
    short: the next run compares with it), and a following one first lets the server send what is queued
    (:mod:`aecore.ui.send_pacing`); the teacher's presenter view publishes it as the page starts to draw (the class
    draws it meanwhile) and after (a control of the page's own), with its counts."""
    view, key = class_view(), browser_key()
    teacher = view.is_teacher(key)
    if teacher and presenter.presenting():
        _publish(view, key, path)
    elif not teacher and following():
        send_pacing.catch_up()  # thirty start at once: what they drew goes out before their bodies crowd the loop
    try:
        yield
        if not teacher:
            _check_taken(path)
    finally:
        if not teacher:
            st.session_state[SHOWN_KEY] = _shown(path)
    if teacher and presenter.presenting():
        _publish(view, key, path, refine=True)  # the values its new widgets were drawn with, under the same version
        st.html(_CSS)
        _lead()
