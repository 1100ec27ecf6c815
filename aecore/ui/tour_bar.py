"""Lesson tours on screen: the sidebar's tour picker and recorder, and the bar above the page while a tour plays.

app.py calls :func:`draw` on every page, before the page's own widgets. A
step plays in two runs: the Next or Back button's callback puts the step's view
into session state (:func:`aecore.ui.links.restore_view`, allowed there since no
widget of this run exists yet) and asks for the step's page; :func:`draw` then
switches to it (callbacks cannot). The bar (the caption in large type, "step k
of n", Back, Next, End) sits in the main area, so it works in the presenter view,
whose sidebar is collapsed.

Recording adds the view shown now (:func:`aecore.ui.links.view_params`) with
a caption; the recorded tour downloads as JSON, and a tour file loads through
the same checks as the shipped ones (:func:`aecore.tours.parse_tour`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

import streamlit as st

from aecore import tours
from aecore.describe import counted
from aecore.tours import Step, Tour, TourError
from aecore.ui import links, palette, presenter
from aecore.ui.navigation import PAGES

TOUR_KEY = "tour_playing"  # session key: the Tour playing, absent when none
STEP_KEY = "tour_step"  # session key: the index of its step shown
GOTO_KEY = "tour_goto"  # session key: the page a step asked for, switched to by the next run
DRAFT_KEY = "tour_draft"  # session key: the steps recorded so far (a list of Step)
LOADED_KEY = "tour_loaded"  # session key: tours loaded from files, by their name in the picker
MESSAGE_KEY = "tour_message"  # session key: (kind, text) the recorder or the loader has to say, once
PICK_KEY, CAPTION_KEY, TITLE_KEY, UPLOAD_KEY = "tour_pick", "tour_caption", "tour_title", "tour_upload"
UPLOAD_MB = 1  # a browser's tour file; parse_tour's own cap (tours.MAX_TOUR_BYTES) is far below it

_CSS = f"""
<style>
.st-key-tour_bar {{ background: {palette.PALE_BLUE}; padding: 0.2rem 0.5rem !important; }}
.st-key-tour_bar button {{ min-height: 2rem; padding: 0.1rem 0.7rem; }}
.st-key-tour_bar [data-testid="stMarkdownContainer"] {{ margin-bottom: 0 !important; }}
.tour-where {{ font-size: 0.85rem; color: {palette.DEEP_BLUE}; font-weight: 600; white-space: nowrap;
               padding: 0 0.15rem; }}
.tour-caption {{ font-size: 1rem; line-height: 1.25; color: {palette.INK}; }}
</style>
"""
# While a tour plays in the presenter view the bar stands in for the page's title (its tooltip names the page) and
# moves up beside the sidebar's button; the caption shows two lines (x1.3 type), a longer one unfolds under the
# mouse. The room goes to the page's main picture. The presenter view's header is transparent and lies over the bar:
# clicks go through it to Back and Next (its own buttons still take theirs).
_PRESENT_CSS = """
<style>
[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]:has(h1) { display: none; }
[data-testid="stHeader"], [data-testid="stHeader"] * { pointer-events: none !important; }
[data-testid="stHeader"] button, [data-testid="stHeader"] button * { pointer-events: auto !important; }
.st-key-tour_bar { margin: -0.85rem 0 -0.3rem 0; }
.tour-caption { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; overflow: hidden; }
.tour-caption:hover { -webkit-line-clamp: unset; }
</style>
"""


def page_titles() -> dict[str, str]:
    """Each page's title, by its path."""
    return {spec.path: spec.title for spec in PAGES}


def known_pages() -> dict[str, frozenset[str]]:
    """The pages a tour may visit, each with the query parameters its steps may set."""
    return {spec.path: links.view_param_names(spec.path) for spec in PAGES}


def check_view(path: str, params: Mapping[str, str]) -> str | None:
    """Whether page ``path`` can show ``params``: None, or what is wrong with the first value it cannot take."""
    notes = links.view_notes(path, params)
    return notes[0] if notes else None


def parse(content: bytes | str, name: str) -> Tour:
    """The tour in a file's ``content``, checked against this dashboard's pages (one-line :class:`TourError`)."""
    return tours.parse_tour(content, known_pages(), check_view, name=name)


@st.cache_resource(show_spinner=False)
def shipped_tours() -> dict[str, Tour]:
    """The shipped tours by title, read and checked once per server."""
    return {tour.title: tour for tour in tours.load_shipped_tours(known_pages(), check_view)}


def _all_tours() -> dict[str, Tour]:
    return {**shipped_tours(), **st.session_state.get(LOADED_KEY, {})}


def go(index: int) -> None:
    """(A callback) show step ``index`` of the tour playing: its view into session state, its page next."""
    tour = st.session_state[TOUR_KEY]
    step = tour.steps[index]
    st.session_state[STEP_KEY] = index
    notes = links.restore_view(step.page, step.params)
    if notes:
        st.session_state[links.NOTES_KEY] = [*st.session_state.get(links.NOTES_KEY, []), *notes]
    st.session_state[GOTO_KEY] = step.page


def start(tour: Tour) -> None:
    """(A callback) play ``tour`` from its first step."""
    st.session_state[TOUR_KEY] = tour
    go(0)


def end() -> None:
    """(A callback) stop the tour playing; the page stays as it is."""
    st.session_state.pop(TOUR_KEY, None)
    st.session_state.pop(STEP_KEY, None)


def _start_picked() -> None:
    if tour := _all_tours().get(st.session_state.get(PICK_KEY)):
        start(tour)


def _say(kind: str, text: str) -> None:
    st.session_state[MESSAGE_KEY] = (kind, text)


def _add_step(path: str) -> None:
    caption = " ".join(st.session_state.get(CAPTION_KEY, "").split())
    draft = st.session_state.setdefault(DRAFT_KEY, [])
    if not caption:
        _say("warning", "Write the caption the class should read, then add the step.")
    elif len(draft) >= tours.MAX_STEPS:
        _say("warning", f"A tour has at most {tours.MAX_STEPS} steps.")
    else:
        draft.append(Step(path, links.view_params(path), caption[:tours.MAX_CAPTION_CHARS]))
        st.session_state[CAPTION_KEY] = ""
        _say("success", f"Step {len(draft)} added: {page_titles().get(path, path)}.")


def _recorded() -> Tour:
    title = " ".join(st.session_state.get(TITLE_KEY, "").split())[:tours.MAX_TITLE_CHARS] or "My tour"
    return Tour(title, tuple(st.session_state.get(DRAFT_KEY, [])))


def _play_recorded() -> None:
    try:  # what plays is what downloads: the same checks as a loaded file
        start(parse(tours.dump_tour(_recorded()), "the recorded tour"))
    except TourError as exc:
        _say("error", str(exc))


def _remove_last() -> None:
    if draft := st.session_state.get(DRAFT_KEY):
        draft.pop()


def _load() -> None:
    upload = st.session_state.get(UPLOAD_KEY)
    if upload is None:
        return
    try:
        tour = parse(upload.getvalue(), upload.name)
    except TourError as exc:
        _say("error", str(exc))
        return
    name = tour.title if tour.title not in shipped_tours() else f"{tour.title} (loaded)"
    st.session_state.setdefault(LOADED_KEY, {})[name] = tour
    st.session_state[PICK_KEY] = name
    _say("success", f"Loaded {name!r}: {len(tour.steps)} steps. Press Start to play it.")


def file_name(title: str) -> str:
    """A download's file name for a tour titled ``title``: ``lecture-003-a-2-d-code.json``."""
    return (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "tour") + ".json"


def _picker() -> None:
    names = list(_all_tours())
    if names:  # the sidebar's whole width, and the title in full under it: a select box cuts a long name short
        picked = st.selectbox("Tour", names, key=PICK_KEY, help="One tour per lecture ships with the dashboard; "
                              "tours you load appear here too")
        st.caption(picked)
        st.button("Start", key="tour_start", on_click=_start_picked, width="stretch")


def _recorder(path: str) -> None:
    st.markdown("**Record a tour**")
    st.text_area("Caption of this view", key=CAPTION_KEY, max_chars=tours.MAX_CAPTION_CHARS, height=80,
                 placeholder="One or two sentences the class reads under this view")
    draft = st.session_state.get(DRAFT_KEY, [])
    st.button("Add this view as a step", key="tour_add", icon=":material/add_a_photo:", on_click=_add_step,
              args=(path,), width="stretch", disabled=len(draft) >= tours.MAX_STEPS)
    if not draft:
        st.caption("Set up a page as the class should see it, write its caption, add it; then the next one.")
        return
    st.caption(f"{counted(len(draft), 'step')} recorded: "
               + ", ".join(page_titles().get(step.page, step.page) for step in draft))
    st.text_input("Title", key=TITLE_KEY, max_chars=tours.MAX_TITLE_CHARS, placeholder="My tour")
    play_column, undo_column, clear_column = st.columns(3)
    play_column.button("Play", key="tour_play_recorded", on_click=_play_recorded, width="stretch")
    undo_column.button("Undo", key="tour_undo", on_click=_remove_last, width="stretch",
                       help="Remove the last step")
    clear_column.button("Clear", key="tour_clear", on_click=lambda: st.session_state.pop(DRAFT_KEY, None),
                        width="stretch", help="Remove every recorded step")
    tour = _recorded()
    st.download_button("Download (JSON)", tours.dump_tour(tour), file_name=file_name(tour.title),
                       mime="application/json", key="tour_download", on_click="ignore", width="stretch",
                       icon=":material/download:")


def _sidebar(path: str) -> None:
    with st.sidebar, st.expander("Lesson tours", icon=":material/tour:", expanded=TOUR_KEY in st.session_state):
        _picker()
        _recorder(path)
        st.file_uploader("Load a tour (JSON)", type=["json"], key=UPLOAD_KEY, on_change=_load,
                         max_upload_size=UPLOAD_MB)
        if message := st.session_state.pop(MESSAGE_KEY, None):
            getattr(st, message[0])(message[1])


def _bar(path: str) -> None:
    tour, index = st.session_state[TOUR_KEY], st.session_state.get(STEP_KEY, 0)
    step = tour.steps[index]
    _draw_bar(path, tour.title, index, len(tour.steps), step.page, step.caption, controls=True)


def draw_caption(path: str, title: str, index: int, count: int, caption: str) -> None:
    """The bar of a tour another screen plays (the teacher's, followed: :mod:`aecore.ui.follow`): where it is and
    the step's caption, without Back, Next or End."""
    _draw_bar(path, title, index, count, path, caption, controls=False)


def _draw_bar(path: str, title: str, index: int, count: int, step_page: str, caption: str, controls: bool) -> None:
    st.html(_CSS + (_PRESENT_CSS if presenter.presenting() else ""))
    where = f"step {index + 1} of {count}"
    if step_page != path:
        where += f" (on {page_titles().get(step_page, step_page)})"
    about = f"{title} · {page_titles().get(path, path)}"
    # one row: the controls on the left (a toast, top right, would cover them there) and the caption beside them
    with st.container(border=True, key="tour_bar", horizontal=True, vertical_alignment="center", wrap=False,
                      gap="xsmall"):
        with st.container(horizontal=True, vertical_alignment="center", width="content", gap="xsmall"):
            if controls:
                st.button("←", key="tour_back", on_click=go, args=(index - 1,), disabled=index == 0, help="Back")
                st.button("Next →", key="tour_next", on_click=go, args=(index + 1,), disabled=index == count - 1,
                          type="primary")
            st.markdown(f"<div class='tour-where' title='{html.escape(about)}'>{html.escape(where, quote=False)}"
                        "</div>", unsafe_allow_html=True, width="content")
            if controls:
                st.button("End", key="tour_end", on_click=end, help="End the tour")
        st.markdown(f"<div class='tour-caption'>{html.escape(caption, quote=False)}</div>",
                    unsafe_allow_html=True, width="stretch")


def draw(path: str) -> None:
    """On every page of app.py, before the page (``path``) draws: switch to the page a step asked for, then the
    sidebar's tours and, while a tour plays, its bar at the top of the page."""
    goto = st.session_state.pop(GOTO_KEY, None)
    if goto is not None and goto != path:
        st.switch_page(goto)
    _sidebar(path)
    if TOUR_KEY in st.session_state:
        _bar(path)
