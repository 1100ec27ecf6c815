"""Links: each page's state in the query string, so that a link (or its QR code) opens the same view elsewhere.

What a page keeps is declared in :mod:`aecore.ui.page_state` (each page's tuple, given to it in
:data:`aecore.ui.navigation.PAGES`); this module is the runtime that moves it between session state and the URL.
The sidebar's training settings travel too (:func:`aecore.ui.sidebar.settings_params`: the preset and what
differs from it), and so does ``present`` (the presenter view).

- :func:`start_session` and :func:`restore` run in a session's first script
  run, before any widget is drawn: they put the link's values into session
  state. A garbage value keeps the default and gets a one-line note (a toast),
  never a traceback.
- :func:`kept_in_url` wraps the page's run. The URL is rewritten before the page
  runs (the values the user just changed) and after it (values the page itself
  set); nothing is sent when nothing changed.
- :func:`restore_view` does the same in the middle of a session (a lesson tour's
  step, :mod:`aecore.ui.tour_bar`): the values a view leaves out go back to the
  page's defaults; :func:`view_params` says the current view for such a step.
- Some values parse but do not fit the model shown (a class its data lacks, an
  image number past its test set): the widgets reset those to their defaults
  (:mod:`aecore.ui.state_widgets`), and the first run compares and notes them.
  Should the page fail in that first run, the link's values that are not
  widgets' (a pick on the map, the labs that ran) are dropped and the page is
  drawn again.

Only the first run reads the URL: afterwards the session state is the truth
and the URL follows it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import streamlit as st

from aecore.settings import BY_NAME
from aecore.ui.composite_state import DEFAULT_RUN, MODEL, PRESENT, RUN_PICKER_KEY, SELECTED_RUN
from aecore.ui.navigation import PAGES, TRAINING_PAGES
from aecore.ui.sidebar import (
    PRESET_ENTRY,
    SETTINGS_KEY,
    current_settings,
    restore_settings,
    settings_from_params,
    settings_params,
)
from aecore.ui.state_values import Link, State, Value

RESTORED_KEY = "links_restored"  # session key: set once the session's first run has read its link
CHECK_KEY = "links_check"  # session key: what the first run restored, for the check after the page ran
NOTES_KEY = "links_notes"  # session key: notes waiting to be shown (after a rerun)
PAGE_KEY = "links_page"  # session key: the path of the page the last full run drew
PAGE_LINKS: dict[str, tuple[Value | Link, ...]] = {spec.path: spec.state for spec in PAGES if spec.state}
GLOBAL_LINKS = (PRESENT,)  # on every page
RESERVED = {PRESET_ENTRY, *BY_NAME, "embed", "embed_options"}  # the settings' parameters and Streamlit's own


def page_params(path: str, state: Mapping[str, Any]) -> dict[str, str]:
    """The query parameters of page ``path`` (and the global ones) for the values in ``state``."""
    params = {}
    for link in (*GLOBAL_LINKS, *PAGE_LINKS.get(path, ())):
        if (text := link.text(state)) is not None:
            params[link.param] = text
    return params


def wanted_params(path: str) -> dict[str, str]:
    """Every query parameter the URL of page ``path`` should have now: the settings, then the page's state."""
    return {**settings_params(current_settings()), **page_params(path, st.session_state)}


def write_url(path: str, always: bool = False) -> None:
    """Make the browser's URL say the current state of page ``path`` (a message only when it changes, or
    ``always``)."""
    wanted = wanted_params(path)
    if always or st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def sync_url() -> None:
    """Rewrite the URL from inside a fragment: its reruns skip app.py, where :func:`kept_in_url` does it."""
    if PAGE_KEY in st.session_state:
        write_url(st.session_state[PAGE_KEY])


def restore_links(links: tuple[Value | Link, ...], params: Mapping[str, str], state: State,
                  ) -> tuple[dict[str, Any], list[str], set[str]]:
    """Put the values of ``params`` for ``links`` into ``state``, in order (a key may depend on a value before it).
    Returns the values restored, by parameter; a note for each garbage value (which is left out); and the session
    keys written that are not widgets' (see :class:`Link`)."""
    restored, notes, loose = {}, [], set()
    for link in (link for link in links if link.param in params):
        try:
            value = link.parse(params[link.param])
            if link.fits is not None:
                link.fits(state, value)
        except ValueError as exc:
            notes.append(f"{link.param}={params[link.param]!r}: {exc}")
            continue
        before = set(state.keys())
        link.store(state, value)
        restored[link.param] = value
        if not link.is_widget:
            loose |= set(state.keys()) - before
    return restored, notes, loose


def restore_page(path: str, params: Mapping[str, str], state: State) -> tuple[dict[str, Any], list[str], set[str]]:
    """:func:`restore_links` for the links of page ``path``."""
    return restore_links(PAGE_LINKS.get(path, ()), params, state)


def view_param_names(path: str) -> frozenset[str]:
    """The query parameters that can describe a view of page ``path``: its own, and the training settings on the
    pages where they act (not ``present``: a view is the same in the presenter's and the plain one)."""
    settings = {PRESET_ENTRY, *BY_NAME} if path in TRAINING_PAGES else set()
    return frozenset({link.param for link in PAGE_LINKS.get(path, ())} | settings)


def view_params(path: str, state: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The view page ``path`` shows now, as query parameters: the page's state (:func:`page_params`, without
    ``present``) and, where they act, the training settings."""
    state = st.session_state if state is None else state
    params = {name: text for name, text in page_params(path, state).items() if name != PRESENT.param}
    if path in TRAINING_PAGES:
        params = {**settings_params(state[SETTINGS_KEY] if SETTINGS_KEY in state else current_settings()), **params}
    return params


def view_notes(path: str, params: Mapping[str, str]) -> list[str]:
    """A note for each value of ``params`` that page ``path`` cannot take (checked on a fresh state)."""
    notes = restore_page(path, params, {})[1]
    if path in TRAINING_PAGES:
        notes += settings_from_params(params)[1]
    return notes


def restore_view(path: str, params: Mapping[str, str], state: State | None = None) -> list[str]:
    """In the middle of a session: make page ``path``, drawn next, show the view ``params`` describe (as
    :func:`view_params` writes them): each of the page's values they name, and the page's default for each they
    leave out; the training settings too on the pages where they act. Call it before the page's widgets are drawn
    (from a widget's callback, say). Returns a note for each garbage value, which keeps the default; the run after
    it notes the values the page could not take, as for a link (:func:`kept_in_url`)."""
    state = st.session_state if state is None else state
    restored, notes, loose = {}, [], set()
    for link in PAGE_LINKS.get(path, ()):  # in order: a key may depend on a value before it
        if link.param in params:
            values, link_notes, link_loose = restore_links((link,), params, state)
            restored |= values
            notes += link_notes
            loose |= link_loose
        else:
            link.reset(state)
    if MODEL in PAGE_LINKS.get(path, ()):  # the picker's own value would win over the run chosen
        state[RUN_PICKER_KEY] = Path(state.get(SELECTED_RUN) or DEFAULT_RUN)
    if path in TRAINING_PAGES:
        state[SETTINGS_KEY], settings_notes = settings_from_params(params)
        notes += settings_notes
    if restored:
        state[CHECK_KEY] = (restored, loose)
    return notes


def _show_notes(notes: list[str]) -> None:
    if notes:
        st.toast("This link's " + "; ".join(notes) + ". The defaults are shown instead.",
                 icon=":material/link_off:", duration="long")


def start_session() -> None:
    """In a session's first run, first of all: the link's settings and presenter view into session state (the
    page config needs the latter before the navigation is drawn; :func:`restore` does the page's values)."""
    state = st.session_state
    if RESTORED_KEY in state:
        return
    state[RESTORED_KEY] = False  # the page's values are still to come
    params = st.query_params.to_dict()
    _, notes, _ = restore_links(GLOBAL_LINKS, params, state)
    state[NOTES_KEY] = [*state.get(NOTES_KEY, []), *restore_settings(params), *notes]


def restore(path: str) -> None:
    """In a session's first run, once the page is known and before any widget: the link's values of page ``path``
    into session state, with a note on garbage. In every run: show the notes left before."""
    state = st.session_state
    notes = state.pop(NOTES_KEY, [])
    if state.get(RESTORED_KEY) is False:
        state[RESTORED_KEY] = True
        restored, page_notes, loose = restore_page(path, st.query_params.to_dict(), state)
        notes += page_notes
        if restored:
            state[CHECK_KEY] = (restored, loose)
    _show_notes(notes)


@contextmanager
def kept_in_url(path: str) -> Iterator[None]:
    """Around the run of page ``path``: the URL follows its state (see the module's docstring)."""
    # A page switch made from a script (st.switch_page: a tour's Next, an "Open in" button) clears the browser's
    # query string, and the next run's st.query_params need not say so: the first run on a page always writes the
    # URL, or ``present`` and the rest could drop from it.
    switched = st.session_state.get(PAGE_KEY) != path
    st.session_state[PAGE_KEY] = path
    write_url(path, always=switched)
    check = st.session_state.pop(CHECK_KEY, None)
    try:
        yield
    except Exception:
        if not check or not check[1]:
            raise
        for key in check[1]:  # widgets reset what they cannot take: the culprit is a value of another kind
            st.session_state.pop(key, None)
        st.session_state[NOTES_KEY] = ["view could not be drawn with this model"]
        st.rerun()
    else:
        if check:
            links = {link.param: link for link in PAGE_LINKS.get(path, ())}
            _show_notes([f"{param}={links[param].format(value)!r} is not offered here"
                         for param, value in check[0].items()
                         if param in links and links[param].read(st.session_state) != value])
        write_url(path)
