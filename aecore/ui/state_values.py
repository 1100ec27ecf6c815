"""The kinds of page state a link carries: :class:`Value`, one widget's value declared as settings.py declares a
run setting, and :class:`Link`, a value kept some other way (a pick on a map, the labs that ran).

Both answer the same questions for :mod:`aecore.ui.links`: the query parameter's name, how its text is read
(``parse``: a value, or a ValueError saying what it expects) and written (``format``), where the value lives in
session state (``read``, ``store``), and what the page shows without the parameter (``default``, ``reset``), which
a link then leaves out (shorter links, smaller QR codes). Pages' declarations: :mod:`aecore.ui.page_state`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aecore.checkpoints import list_runs

State = MutableMapping[str, Any]  # st.session_state, or a plain dict in tests
WIDGETS = ("slider", "select_slider", "number", "radio", "selectbox", "toggle", "text", "tabs")


# --- parsers: text -> value, or a ValueError saying what is expected


def integer(lo: int, hi: int | None = None, step: int = 1) -> Callable[[str], int]:
    """An integer in [lo, hi] (no upper end when ``hi`` is None) on ``lo``'s grid of ``step``."""
    words = f"an integer from {lo}" + (f" to {hi}" if hi is not None else " up") + (
        f" in steps of {step}" if step != 1 else "")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"expected {words}") from None
        if value < lo or (hi is not None and value > hi) or (value - lo) % step:
            raise ValueError(f"expected {words}")
        return value

    return parse


def number(lo: float, hi: float, step: float | None = None) -> Callable[[str], float]:
    """A finite number in [lo, hi], on ``lo``'s grid of ``step`` if given (a slider's)."""
    words = f"expected a number from {lo:g} to {hi:g}" + (f" in steps of {step:g}" if step else "")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not lo <= value <= hi:  # also false for nan
            raise ValueError(words)
        if step:
            on_grid = round(lo + round((value - lo) / step) * step, 10)
            if abs(on_grid - value) > 1e-9:
                raise ValueError(words)
            value = on_grid
        return value

    return parse


def one_of(options: tuple[float, ...]) -> Callable[[str], float]:
    """One of the numbers ``options`` (a select_slider's), as the option itself."""
    words = f"expected one of {', '.join(f'{option:g}' for option in options)}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(words) from None
        for option in options:
            if value == option:
                return option
        raise ValueError(words)

    return parse


def choice(options: tuple[str, ...]) -> Callable[[str], str]:
    """One of ``options``."""

    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return text

    return parse


def boolean(text: str) -> bool:
    """``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``."""
    words = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
    if text.strip().lower() not in words:
        raise ValueError("expected 1 or 0")
    return words[text.strip().lower()]


def run_path(text: str) -> Path:
    """The shipped or saved run called ``text``."""
    for path in list_runs():
        if path.name == text:
            return path
    raise ValueError("no shipped or saved run has that name")


def number_text(value: float) -> str:
    """A number as short text: ``0.35``, ``-1.2``."""
    return f"{value:.6g}"


def flag_text(on: bool) -> str:
    """A switch as text: ``1`` or ``0``."""
    return "1" if on else "0"


# --- the two kinds of state


@dataclass(frozen=True)
class Value:
    """One widget's value on a page: its query parameter, session key, type, label, widget, and the values it takes.

    ``kind`` is int, float, str, bool or Path (a shipped or saved run, written by its name). The values taken are
    ``choices`` (the options offered; a callable when they are known only at run time) or, without choices, those
    in [``lo``, ``hi``] on ``lo``'s grid of ``step`` (``hi`` None: no upper end here, the page knows it), or any text
    ``check`` accepts. ``default`` is what the page shows with nothing chosen; None where it follows the run shown
    (the page passes it when it draws the widget; a link then always writes the value) or, for a number input, where
    the input starts empty. ``keyed_by``: another value of the page, one of whose values this one is kept for (the
    session key is then ``{key}_{that value}``, e.g. one map size per choice of images).
    """

    param: str
    key: str
    kind: type
    label: str
    widget: str
    default: Any = None
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    choices: tuple | Callable[[], tuple] = ()
    check: Callable[[str], Any] | None = None
    keyed_by: Value | None = None
    help: str | None = None

    is_widget = True  # a widget resets what it cannot take (see aecore.ui.links)
    fits = None  # nothing to check against the values restored before it

    def __post_init__(self) -> None:
        if self.widget not in WIDGETS or self.kind not in (int, float, str, bool, Path):
            raise ValueError(f"page value {self.param!r}: its widget or kind is not one of the known ones")

    @property
    def offered(self) -> tuple:
        """The options a select widget offers (every one a link may name)."""
        return tuple(self.choices()) if callable(self.choices) else self.choices

    def state_key(self, state: Mapping[str, Any]) -> str:
        """The session key of the value now (it depends on ``keyed_by``'s value, if any)."""
        if self.keyed_by is None:
            return self.key
        return f"{self.key}_{state.get(self.keyed_by.key, self.keyed_by.default)}"

    def parse(self, text: str) -> Any:
        """The value written as ``text``; a ValueError saying what is expected if it is not one."""
        if self.kind is bool:
            return boolean(text)
        if self.kind is Path:
            return run_path(text)
        if self.choices:
            return (one_of if self.kind in (int, float) else choice)(self.offered)(text)
        if self.kind is int:
            return integer(int(self.lo), None if self.hi is None else int(self.hi), int(self.step or 1))(text)
        if self.kind is float:
            return number(self.lo, self.hi, self.step)(text)
        return text if self.check is None else self.check(text)

    def format(self, value: Any) -> str:
        """``value`` as the text :meth:`parse` reads back."""
        if self.kind is bool:
            return flag_text(value)
        if self.kind is Path:
            return Path(value).name
        return number_text(value) if self.kind is float or isinstance(value, float) else str(value)

    def read(self, state: Mapping[str, Any]) -> Any:
        return state.get(self.state_key(state))

    def store(self, state: State, value: Any) -> None:
        state[self.state_key(state)] = value

    def reset(self, state: State) -> None:
        """Make ``state`` hold what the page shows without this parameter."""
        if self.default is None:
            state.pop(self.state_key(state), None)
        else:
            self.store(state, self.default)

    def text(self, state: Mapping[str, Any]) -> str | None:
        """The parameter's text for the value in ``state``, or None when it is not written."""
        return _text(self, state)


@dataclass(frozen=True)
class Link:
    """Page state that is not one widget's value: how its text is read and written, and where it lives.

    ``read`` gives the value now (None: nothing to write); ``store`` puts a parsed value where the page reads it;
    ``clear`` puts back what the page shows without the parameter. ``fits`` (if any) raises ValueError when a parsed
    value does not go with the values restored before it. Such values are dropped if the page fails on them.
    """

    param: str
    parse: Callable[[str], Any]
    read: Callable[[Mapping[str, Any]], Any]
    store: Callable[[State, Any], None]
    clear: Callable[[State], None]
    format: Callable[[Any], str] = str
    default: Any = None
    fits: Callable[[Mapping[str, Any], Any], None] | None = None
    is_widget: bool = False

    def reset(self, state: State) -> None:
        """Make ``state`` hold what the page shows without this parameter."""
        self.clear(state)

    def text(self, state: Mapping[str, Any]) -> str | None:
        """The parameter's text for the value in ``state``, or None when it is not written."""
        return _text(self, state)


def _text(link: Value | Link, state: Mapping[str, Any]) -> str | None:
    value = link.read(state)
    if value is None or (link.default is not None and value == link.default):
        return None
    return link.format(value)
