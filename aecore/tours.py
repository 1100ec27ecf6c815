"""Lesson tours: a list of steps, each a page of the dashboard, its state and a caption, played one by one.

A step's state is the page's query string (:mod:`aecore.ui.links` writes and
reads it), so a tour is plain JSON a teacher can record, download and load again::

    {"title": "Lecture 003: a 2-D code", "steps": [
        {"page": "views/explore.py", "params": {"model": "mnist-ae-latent2"},
         "caption": "Each test image is a point of the code's plane."}]}

A tour file may come from anywhere, so :func:`parse_tour` checks everything
against the caps below and refuses a bad one with a single line (a
:class:`TourError` naming the file and the step). Nothing here knows Streamlit:
the pages and their parameters are passed in.

The shipped tours, one per lecture, are ``aecore/tours/lecture-*.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from aecore.errors import AecoreError

SHIPPED_DIR = Path(__file__).with_name("tours")
MAX_TOUR_BYTES = 64 * 1024  # a tour file; a long tour of 50 steps is about 15 KB
MAX_STEPS = 50
MAX_TITLE_CHARS = 80
MAX_CAPTION_CHARS = 300  # one or two sentences
MAX_PARAMS = 60  # query parameters of one step (a page's own and the training settings)
MAX_PARAM_CHARS = 4000  # one parameter's name or value (a map's 500 picked images fit)


class TourError(AecoreError):
    """A tour file that cannot be played: its message is one line naming the file and what is wrong."""


@dataclass(frozen=True)
class Step:
    """One view of a tour: the page (its path, e.g. ``views/explore.py``), its query parameters and the caption."""

    page: str
    params: Mapping[str, str]
    caption: str


@dataclass(frozen=True)
class Tour:
    """A titled list of steps."""

    title: str
    steps: tuple[Step, ...]


# Given a page and its parameters: None when the page can show them, else what is wrong (a short phrase)
ParamCheck = Callable[[str, Mapping[str, str]], str | None]


def _text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is not a text")
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    if "\n" in value.strip() or "\r" in value:
        raise ValueError(f"{what} spans several lines")
    return value.strip()


def _params(value: object, page: str, known: Collection[str]) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("params is not an object of names to texts")
    if len(value) > MAX_PARAMS:
        raise ValueError(f"has more than {MAX_PARAMS} params")
    for name, text in value.items():
        if not isinstance(text, str):
            raise ValueError(f"param {name[:40]!r} is not a text")
        if len(name) > MAX_PARAM_CHARS or len(text) > MAX_PARAM_CHARS:
            raise ValueError(f"param {name[:40]!r} is longer than {MAX_PARAM_CHARS} characters")
        if name not in known:
            raise ValueError(f"{page} has no param {name[:40]!r}")
    return dict(value)


def _step(value: object, pages: Mapping[str, Collection[str]], check: ParamCheck | None) -> Step:
    if not isinstance(value, dict):
        raise ValueError("is not an object with page, params and caption")
    if unknown := set(value) - {"page", "params", "caption"}:
        raise ValueError(f"has an unknown field {sorted(unknown)[0][:40]!r}")
    page = value.get("page")
    if not isinstance(page, str) or not page:
        raise ValueError("names no page")
    if page not in pages:
        raise ValueError(f"names {page[:60]!r}, not a page of this dashboard")
    params = _params(value.get("params", {}), page, pages[page])
    caption = _text(value.get("caption"), "caption", MAX_CAPTION_CHARS)
    if check is not None and (problem := check(page, params)):
        raise ValueError(problem)
    return Step(page, params, caption)


def tour_from_data(data: object, pages: Mapping[str, Collection[str]], check: ParamCheck | None = None) -> Tour:
    """The tour that ``data`` (parsed JSON) describes, or ValueError saying what is wrong (``step 3 ...``).

    ``pages`` maps each page's path to the query parameters it takes; ``check``
    (optional) says whether a page can show a step's parameter values.
    """
    if not isinstance(data, dict):
        raise ValueError("is not a JSON object with a title and steps")
    if unknown := set(data) - {"title", "steps"}:
        raise ValueError(f"has an unknown field {sorted(unknown)[0][:40]!r}")
    title = _text(data.get("title"), "title", MAX_TITLE_CHARS)
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ValueError("has no steps")
    if len(steps) > MAX_STEPS:
        raise ValueError(f"has {len(steps)} steps, more than {MAX_STEPS}")
    parsed = []
    for number, step in enumerate(steps, start=1):
        try:
            parsed.append(_step(step, pages, check))
        except ValueError as exc:
            raise ValueError(f"step {number} {exc}") from None
    return Tour(title, tuple(parsed))


def parse_tour(content: bytes | str, pages: Mapping[str, Collection[str]], check: ParamCheck | None = None,
               name: str = "tour.json") -> Tour:
    """The tour in the JSON text ``content`` (a file called ``name``), checked through: the size cap, JSON, the
    fields, known pages and parameters (``pages``, ``check``: see :func:`tour_from_data`), the caps on steps and
    texts. Raises :class:`TourError` with one line, e.g. ``tour.json: step 3 names no page``."""
    size = len(content.encode() if isinstance(content, str) else content)
    if size > MAX_TOUR_BYTES:
        raise TourError(f"{name}: {size:,} bytes, more than a tour may have ({MAX_TOUR_BYTES:,})")
    try:
        data = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise TourError(f"{name}: not a JSON file{where}") from None
    try:
        return tour_from_data(data, pages, check)
    except ValueError as exc:
        raise TourError(f"{name}: {exc}") from None


def tour_data(tour: Tour) -> dict:
    """``tour`` as plain JSON data (what :func:`tour_from_data` reads)."""
    return {"title": tour.title,
            "steps": [{"page": step.page, "params": dict(step.params), "caption": step.caption}
                      for step in tour.steps]}


def dump_tour(tour: Tour) -> str:
    """``tour`` as JSON text, one step per block, for a download."""
    return json.dumps(tour_data(tour), indent=2, ensure_ascii=False) + "\n"


def shipped_tour_files() -> list[Path]:
    """The shipped tours' files, in lecture order."""
    return sorted(SHIPPED_DIR.glob("*.json"))


def load_shipped_tours(pages: Mapping[str, Collection[str]], check: ParamCheck | None = None) -> list[Tour]:
    """The shipped tours, parsed and checked (:func:`parse_tour`)."""
    return [parse_tour(path.read_bytes(), pages, check, name=path.name) for path in shipped_tour_files()]
