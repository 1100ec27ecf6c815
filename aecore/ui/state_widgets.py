"""A page's widgets drawn from their declarations (:mod:`aecore.ui.page_state`): label, range or options and
session key come from the :class:`~aecore.ui.state_values.Value`, the value shown from session state.

A widget's session key holds its value: the default is put there first, and a value the widget cannot take now (a
class the run's data lacks, a map its latent size does not offer) is replaced by the default. So a value that a
link, a tour or another page wrote is shown, and the first run after a link can compare and note what was not
offered (:func:`aecore.ui.links.kept_in_url`). On a run that wrote nothing there (this run's writes Streamlit sends to
the browser), the widget also gets the value as its default argument: a browser that lost the widget's state draws
that, not the widget's own default (a number's minimum, the first choice), which it would send back as the user's
change. (Given on a run that wrote the key, Streamlit warns that the widget was "created with a default value but
also had its value set via the Session State API".) Every widget keeps its value while its page is left and opened
again (``persist_state="session"``; tabs, which cannot, through a key of their own).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st
from streamlit.runtime.state import get_session_state

from aecore.ui.state_values import Value

_UNSET = object()


def _fits(value: Value, current: Any, options: Sequence | None, hi: float | None) -> bool:
    """Whether the widget of ``value`` can show ``current`` now (``options`` offered, numbers up to ``hi``)."""
    if value.widget == "toggle":
        return isinstance(current, bool)
    if value.widget == "text":
        return isinstance(current, str)
    if options is not None:
        return current in options
    if current is None:
        return value.widget == "number" and value.default is None  # an input that may stay empty
    if isinstance(current, bool) or not isinstance(current, int | float) or (value.kind is int and
                                                                             not isinstance(current, int)):
        return False
    return (value.lo is None or current >= value.lo) and (hi is None or current <= hi)


def prepare(value: Value, *, options: Sequence | None = None, default: Any = _UNSET, hi: float | None = None) -> str:
    """Put in session state what the widget of ``value`` shows next: the value there if the widget can take it,
    else ``default`` (the declared one unless given). Returns the widget's session key."""
    state = st.session_state
    key = value.state_key(state)
    if key not in state or not _fits(value, state[key], options, hi):
        state[key] = value.default if default is _UNSET else default
    return key


def value_argument(key: str, value: Any, options: Sequence | None = None, name: str = "value") -> dict[str, Any]:
    """The keyword that makes ``value`` the default of the widget under ``key`` (``name``; for a select, ``index``
    into ``options``), or none on a run that wrote ``key``: Streamlit sends that value to the browser itself, and
    warns when a widget is also given one."""
    if get_session_state().is_new_state_value(key):
        return {}
    if options is None:
        return {name: value}
    return {name: list(options).index(value)} if value in options else {}


def draw(container, value: Value, *, options: Sequence | None = None, default: Any = _UNSET,
         hi: float | None = None, **widget_args: Any) -> Any:
    """The widget of ``value`` in ``container`` (``st`` or a column), showing the value in session state; returns
    its value. ``options``: what a select widget offers now (default: the declared choices); ``default``: the value
    shown with nothing chosen, where it follows the run; ``hi``: the upper end now, where the run sets it. Other
    arguments go to the Streamlit widget (``format_func``, ``help``, ``on_change``, ...)."""
    offered = list(options) if options is not None else list(value.offered) if value.choices else None
    hi = value.hi if hi is None else hi
    key = prepare(value, options=offered, default=default, hi=hi)
    select = value.widget in ("radio", "selectbox")
    shown = value_argument(key, st.session_state[key], offered if select else None, "index" if select else "value")
    common = {"label": value.label, "key": key, "persist_state": "session", "help": value.help, **widget_args, **shown}
    if value.widget == "slider":
        return container.slider(min_value=value.lo, max_value=hi, step=value.step, **common)
    if value.widget == "number":
        empty = {"value": None} if value.default is None and default in (_UNSET, None) else {}
        common = {**empty, **common}  # the value shown, where given, over the empty default
        return container.number_input(min_value=value.lo, max_value=hi, step=value.step, **common)
    if value.widget == "select_slider":
        return container.select_slider(options=offered, **common)
    if value.widget == "radio":
        return container.radio(options=offered, **{"horizontal": True, **common})
    if value.widget == "selectbox":
        return container.selectbox(options=offered, **common)
    if value.widget == "toggle":
        return container.toggle(**common)
    if value.widget == "text":
        return container.text_input(**common)
    raise ValueError(f"page value {value.param!r}: draw a {value.widget!r} with its own helper")


def tabs(value: Value) -> Sequence:
    """The tabs of ``value`` (its choices, in order), opened on the one in session state; st.tabs takes no
    ``persist_state``, so the tab open is also kept under a key of its own, for a return to the page."""
    state, kept = st.session_state, f"{value.key}_kept"
    if value.key not in state or state[value.key] not in value.offered:
        state[value.key] = state[kept] if state.get(kept) in value.offered else value.default
    drawn = st.tabs(list(value.offered), key=value.key, on_change="rerun")
    state[kept] = state[value.key]
    return drawn
