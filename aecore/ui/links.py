"""Links: each page's state in the query string, so that a link (or its QR code) opens the same view elsewhere.

A page's state is a handful of session-state values, mostly its widgets'.
:data:`PAGE_LINKS` names them per page: the query parameter, where the value
lives, and how its text is read and written. The sidebar's training settings
travel too (:func:`aecore.ui.sidebar.settings_params`: the preset and what
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
  image number past its test set): the widgets reset those to their defaults,
  and the first run compares and notes them. Should the page fail in that first
  run, the link's values that are not widgets' (a pick on the map, the labs
  that ran) are dropped and the page is drawn again.

Only the first run reads the URL: afterwards the session state is the truth
and the URL follows it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from aecore import labs
from aecore.checkpoints import PRETRAINED_DIR, list_runs
from aecore.config import NOISE_KINDS
from aecore.data import list_datasets
from aecore.jobs.service import UPLOAD_FOLDER_PREFIX
from aecore.latent_map import DEFAULT_MAP_SIZE, MAP_SPLITS, PLANE_MODES
from aecore.layer_table import parse_shape
from aecore.presets import list_presets
from aecore.projection import METHODS
from aecore.settings import BY_NAME, get_setting
from aecore.slow_motion import RATES
from aecore.ui.map_pick import MapPick
from aecore.ui.presenter import PRESENT_KEY, present_toggle
from aecore.ui.sidebar import (
    PRESET_ENTRY,
    SETTINGS_KEY,
    TRAINING_PAGES,
    current_settings,
    restore_settings,
    settings_from_params,
    settings_params,
)
from aecore.ui.sweep_view import DEFAULT_AXES, VARIABLE, default_values
from aecore.ui.widgets import DEFAULT_RUN, INTERPOLATION_ENDS, SELECTED_RUN
from aecore.uploads import allowed_image_roots, server_image_folder

State = MutableMapping[str, Any]  # st.session_state, or a plain dict in tests
RESTORED_KEY = "links_restored"  # session key: set once the session's first run has read its link
CHECK_KEY = "links_check"  # session key: what the first run restored, for the check after the page ran
NOTES_KEY = "links_notes"  # session key: notes waiting to be shown (after a rerun)
PAGE_KEY = "links_page"  # session key: the path of the page the last full run drew
RUN_PICKER_KEY = "run_picker"  # the key of aecore.ui.widgets.run_picker's selectbox
MAX_PICKED = 500  # images a link may name as picked on the map


@dataclass(frozen=True)
class Link:
    """One query parameter: where its value lives in session state and how its text is read and written.

    ``parse`` turns the text into a value or raises ValueError saying what it
    expects; ``read`` gives the value now (None: nothing to write); ``store``
    puts a parsed value where the page reads it. ``widget`` says whether that
    place is a widget's key (a widget resets a value it cannot take; other values
    are dropped if the page fails on them). ``default`` is what the page shows
    without the parameter, which is then left out of the link (shorter links,
    smaller QR codes); None where that depends on other values (e.g. on the
    model), so the value is always written. ``clear`` puts back what the page
    shows without the parameter where storing ``default`` cannot (None: store
    ``default``, if any). ``fits`` (if any) raises ValueError when a parsed value does not go with the values
    restored before it.
    """

    param: str
    parse: Callable[[str], Any]
    read: Callable[[Mapping[str, Any]], Any]
    store: Callable[[State, Any], None]
    format: Callable[[Any], str] = str
    widget: bool = True
    default: Any = None
    clear: Callable[[State], None] | None = None
    fits: Callable[[Mapping[str, Any], Any], None] | None = None

    def reset(self, state: State) -> None:
        """Make ``state`` hold what the page shows without this parameter."""
        if self.clear is not None:
            self.clear(state)
        elif self.default is not None:
            self.store(state, self.default)

    def text(self, state: Mapping[str, Any]) -> str | None:
        """The parameter's text for the value in ``state``, or None when it is not written."""
        value = self.read(state)
        if value is None or (self.default is not None and value == self.default):
            return None
        return self.format(value)


def widget(param: str, key: str, parse: Callable[[str], Any], format: Callable[[Any], str] = str,
           default: Any = None) -> Link:
    """The link of the widget under session key ``key``."""
    return Link(param, parse, read=lambda state: state.get(key),
                store=lambda state, value: state.__setitem__(key, value), format=format, default=default,
                clear=(lambda state: state.pop(key, None)) if default is None else None)


def keyed(param: str, key_of: Callable[[Mapping[str, Any]], str], parse: Callable[[str], Any],
          format: Callable[[Any], str] = str, default: Any = None) -> Link:
    """The link of a widget whose key depends on other values (``key_of(state)``): restored after them."""
    return Link(param, parse, read=lambda state: state.get(key_of(state)),
                store=lambda state, value: state.__setitem__(key_of(state), value), format=format, default=default,
                clear=(lambda state: state.pop(key_of(state), None)) if default is None else None)


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


def point(text: str) -> tuple[float, float]:
    """``x,y``: two finite numbers."""
    try:
        x, y = (float(part) for part in text.split(","))
    except ValueError:
        raise ValueError("expected two numbers, x,y") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError("expected two numbers, x,y")
    return x, y


def indices(text: str) -> tuple[int, ...]:
    """Comma-separated row numbers of the map's sample (at most :data:`MAX_PICKED`)."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or len(values) > MAX_PICKED or min(values) < 0:
        raise ValueError(f"expected up to {MAX_PICKED} comma-separated image rows")
    return values


def shape(text: str) -> str:
    """An input shape ``CxHxW`` the Inside page's layer table takes."""
    parse_shape(text)
    return text


def lab_keys(text: str) -> tuple[str, ...]:
    """Comma-separated keys of the labs that ran, in the page's order."""
    keys = {lab.key for lab in labs.LABS}
    picked = set(text.split(","))
    if not picked <= keys:
        raise ValueError(f"expected labs among {', '.join(sorted(keys))}")
    return tuple(lab.key for lab in labs.LABS if lab.key in picked)


def number_text(value: float) -> str:
    """A number as short text: ``0.35``, ``-1.2``."""
    return f"{value:.6g}"


def flag_text(on: bool) -> str:
    """A switch as text: ``1`` or ``0``."""
    return "1" if on else "0"


# --- links whose value is not a single widget's


def _model(state: Mapping[str, Any]) -> Path | None:
    """The run the page shows: its picker's value, or (before the picker is drawn) the run chosen before."""
    chosen = state.get(RUN_PICKER_KEY) or state.get(SELECTED_RUN)
    return Path(chosen) if chosen else None


MODEL = Link("model", run_path, read=_model, store=lambda state, path: state.__setitem__(SELECTED_RUN, str(path)),
             format=lambda path: path.name, widget=False, default=DEFAULT_RUN)
PRESENT = Link("present", boolean, read=lambda state: state.get(PRESENT_KEY),
               store=lambda state, on: state.__setitem__(PRESENT_KEY, on), format=flag_text, default=False)


def _explore_cap_key(state: Mapping[str, Any]) -> str:
    return f"explore_cap_{state.get('explore_split', 'test')}"  # aecore.ui.map_view.points_choice: one per split


def _pick_key(state: Mapping[str, Any]) -> str:
    # views/explore.py keeps one pick per map: its kind, its images and how many (the rows are its points')
    mode, split = state.get("explore_mode", "plane"), state.get("explore_split", "test")
    return f"explore_pick_{mode}_{split}_{state.get(_explore_cap_key(state), DEFAULT_MAP_SIZE)}"


def _pick(state: Mapping[str, Any]) -> MapPick:
    return state.get(_pick_key(state)) or MapPick()


def _store_pick(state: State, **change: Any) -> None:
    state[_pick_key(state)] = replace(_pick(state), **change)


def _clear_pick(state: State, **change: Any) -> None:
    if _pick_key(state) in state:
        _store_pick(state, **change)


PICK_AT = Link("at", point, read=lambda state: _pick(state).position,
               store=lambda state, xy: _store_pick(state, position=xy),
               format=lambda xy: f"{number_text(xy[0])},{number_text(xy[1])}", widget=False,
               clear=lambda state: _clear_pick(state, position=None))
PICKED = Link("picked", indices, read=lambda state: _pick(state).rows or None,
              store=lambda state, rows: _store_pick(state, rows=rows), format=lambda rows: ",".join(map(str, rows)),
              widget=False, clear=lambda state: _clear_pick(state, rows=()))
LABS_FIRST = "labs_first"  # session key: the labs a link named, which the page shows first


def lab_ran_key(lab: labs.Lab) -> str:
    """The session key that says a lab of the Lecture labs page has run (its button, or a link)."""
    return f"lab_{lab.key}_ran"


LABS_RUN = Link("lab", lab_keys,
                read=lambda state: tuple(lab.key for lab in labs.LABS if state.get(lab_ran_key(lab))) or None,
                store=lambda state, keys: state.update({lab_ran_key(lab): lab.key in keys for lab in labs.LABS},
                                                       **{LABS_FIRST: keys}),
                format=",".join, widget=False,
                clear=lambda state: [state.pop(key, None) for key in (LABS_FIRST, *map(lab_ran_key, labs.LABS))])


# views/inside.py keeps one input shape per model
LAYERS_SHAPE = keyed("shape", lambda state: f"layers_shape_{state.get('layers_source', 'this run')}", shape)


def image_choice(param: str, key: str, default_class: int) -> tuple[Link, ...]:
    """The three widgets of :func:`aecore.ui.image_choice.choose_test_image` under ``key``: the class, which
    image of it, or a test image's number."""
    return (widget(param, f"{key}_class", integer(0), default=default_class),
            widget(f"{param}_nth", f"{key}_nth", integer(0, 999), default=0),
            widget(f"{param}_image", f"{key}_index", integer(0)))


def dataset_name(text: str) -> str:
    """A dataset this server has."""
    names = tuple(info.name for info in list_datasets())
    if text not in names:
        raise ValueError(f"expected one of {', '.join(names)}")
    return text


# --- the Sweep page: aecore.ui.sweep_view.sweep_form's two axes, each a setting and the text of its values

SWEEP_AXES = ("sweep_axis_0", "sweep_axis_1")
NOTHING = "(nothing)"  # the second axis's first option: one setting varies
MAX_VALUES_TEXT = 200


def sweep_values_default(name: str) -> str:
    """The values sweep_form offers for setting ``name`` before they are edited."""
    return default_values(name)


def sweep_axis(text: str) -> tuple[str, str | None]:
    """``setting:values`` (``latent:2,8,32``; class subsets ``classes:1,5,6;0,1``), or ``none`` (no second axis)."""
    if text == "none":
        return NOTHING, None
    name, colon, values = text.partition(":")
    if not colon or name not in VARIABLE or len(values) > MAX_VALUES_TEXT:
        raise ValueError("expected a setting and its values, e.g. latent:2,8,32")
    setting = get_setting(name)
    parts = [part for part in values.split(";" if setting.kind is tuple else ",") if part.strip()]  # as the form
    if not parts:
        raise ValueError(f"expected at least one value of {name}")
    for part in parts:
        setting.parse(part)  # a ConfigError (a ValueError) of one line
    return name, values


def _axis(state: Mapping[str, Any], i: int) -> tuple[str, str | None]:
    name = state.get(SWEEP_AXES[i], DEFAULT_AXES[i][0])
    if name not in VARIABLE:
        return NOTHING, None
    values = state.get(f"sweep_values_{name}")
    return name, sweep_values_default(name) if values is None else values


def _store_axis(state: State, i: int, axis: tuple[str, str | None]) -> None:
    name, values = axis
    state[SWEEP_AXES[i]] = name
    if values is not None:
        state[f"sweep_values_{name}"] = values
    if i == 0 and _axis(state, 1)[0] == name:  # one setting on both axes: the form could not draw them
        state[SWEEP_AXES[1]] = NOTHING


def _clear_second_axis(state: State) -> None:
    _store_axis(state, 1, NOTHING_AXIS if _axis(state, 0)[0] == DEFAULT_AXES[1][0] else SECOND_AXIS)


def _a_setting(_state: Mapping[str, Any], axis: tuple[str, str | None]) -> None:
    if axis[1] is None:
        raise ValueError("expected a setting and its values, e.g. latent:2,8,32")


def _other_than_first(state: Mapping[str, Any], axis: tuple[str, str | None]) -> None:
    if axis[0] == _axis(state, 0)[0]:
        raise ValueError("expected a setting other than the first axis's")


def axis_text(axis: tuple[str, str | None]) -> str:
    """An axis as text: ``latent:2,8,32``, or ``none``."""
    return "none" if axis[1] is None else f"{axis[0]}:{axis[1]}"


NOTHING_AXIS = (NOTHING, None)
SECOND_AXIS = (DEFAULT_AXES[1][0], DEFAULT_AXES[1][1])
SWEEP_LINKS = (
    widget("data", "sweep_dataset", dataset_name, default="mnist"),
    widget("base", "sweep_preset", choice(tuple(p.name for p in list_presets() if not p.needs_dataset)),
           default="ae"),
    widget("run_epochs", "sweep_epochs", integer(1, 200), default=3),
    Link("vary", sweep_axis, read=lambda state: _axis(state, 0), store=lambda state, axis: _store_axis(state, 0, axis),
         format=axis_text, default=(DEFAULT_AXES[0][0], DEFAULT_AXES[0][1]), fits=_a_setting),
    Link("vary2", sweep_axis, read=lambda state: _axis(state, 1), store=lambda state, axis: _store_axis(state, 1, axis),
         format=axis_text, default=SECOND_AXIS, clear=_clear_second_axis, fits=_other_than_first),
    widget("stopping", "sweep_stopping", choice(("auto", "on", "off")), default="auto"),
)

# --- Your images: its controls, and a folder on the server (never an upload: it is the session's own)

OWN_FOLDER_KEY, OWN_REPORT_KEY = "own_folder", "own_report"  # aecore.ui.image_upload's FOLDER_KEY, REPORT_KEY
OWN_SIZES = (32, 48, 64, 96, 128, 160, 192, 224)  # views/own_images.py's
OWN_LATENTS = (8, 16, 20, 30, 50, 64)


def _is_upload(path: Path) -> bool:
    return any(part.startswith(UPLOAD_FOLDER_PREFIX) for part in path.parts)


def server_folder(text: str) -> Path:
    """A folder inside the folders the server's operator allows (what the page's server-folder tab takes)."""
    if not allowed_image_roots():
        raise ValueError("reading folders on the server is off here")
    path = server_image_folder(text)  # a DataError (a ValueError) of one line outside the allowed folders
    if _is_upload(path):
        raise ValueError("expected a server folder, not an upload")
    return path


def _server_folder_in_use(state: Mapping[str, Any]) -> Path | None:
    folder = state.get(OWN_FOLDER_KEY)
    if not folder or _is_upload(Path(folder)):
        return None
    path = Path(folder)
    return path if any(path.is_relative_to(root) for root in allowed_image_roots()) else None


OWN_FOLDER = Link("folder", server_folder, read=_server_folder_in_use,
                  store=lambda state, path: state.update({OWN_FOLDER_KEY: str(path), OWN_REPORT_KEY: []}),
                  widget=False, clear=lambda state: [state.pop(key, None) for key in (OWN_FOLDER_KEY, OWN_REPORT_KEY)])
OWN_LINKS = (
    OWN_FOLDER,
    widget("size", "own_size", one_of(OWN_SIZES), format=number_text, default=64),
    widget("colour", "own_colour", choice(("rgb", "grey")), default="rgb"),
    widget("code", "own_latent", one_of(OWN_LATENTS), format=number_text, default=30),
    widget("test_share", "own_split", number(0.1, 0.5, 0.05), format=number_text, default=0.2),
    widget("kind", "own_model", choice(("conv-ae", "conv-vae")), default="conv-ae"),
    widget("train_epochs", "own_epochs", integer(1, 5000), default=50),
    widget("map", "own_map", choice(tuple(METHODS)), default=next(iter(METHODS))),
)

MAP_MODES = (*PLANE_MODES, *METHODS)  # every map any page offers (each page offers those that fit its run)
MAP_IMAGES = tuple(MAP_SPLITS)  # the images a map shows: the test split, or all
CORNERS = (("top_left", 0), ("top_right", 1), ("bottom_left", 7), ("bottom_right", 9))  # views/interpolate.py's
INSIDE_TABS = ("Weights", "Activations", "VAE", "Layer shapes")  # views/inside.py's tabs

# The defaults are the pages' own (tests/test_links.py checks that a page without a link shows them).
PAGE_LINKS: dict[str, tuple[Link, ...]] = {
    "views/home.py": (MODEL,),
    "views/explore.py": (
        MODEL, widget("map", "explore_mode", choice(MAP_MODES), default="plane"),
        widget("images", "explore_split", choice(MAP_IMAGES), default="test"),
        keyed("cap", _explore_cap_key, integer(1), default=DEFAULT_MAP_SIZE),
        widget("x", "explore_dim_x", integer(0), default=0), widget("y", "explore_dim_y", integer(0), default=1),
        widget("grid", "explore_grid", integer(0, 30), default=15),
        widget("perplexity", "explore_perplexity", integer(5, 50), default=30),
        widget("by_split", "explore_by_split", boolean, format=flag_text, default=False),
        widget("neighbours", "explore_k", integer(1, 20), default=8),
        widget("prior_grid", "explore_quantile_grid", integer(5, 30), default=20), PICK_AT, PICKED),
    "views/interpolate.py": (
        MODEL, *image_choice("from", INTERPOLATION_ENDS["start"], 7), *image_choice("to", INTERPOLATION_ENDS["end"], 1),
        widget("steps", "interp_steps", integer(3, 20), default=10),
        widget("slerp", "interp_slerp", boolean, format=flag_text),  # its default follows the model (on for a VAE)
        widget("mix", "interp_alpha", number(0.0, 1.0), format=number_text, default=0.5),
        *(link for i, (name, default) in enumerate(CORNERS) for link in image_choice(name, f"corner_{i}", default)),
        widget("grid", "corner_n", integer(3, 15), default=10),
        widget("u", "corner_u", number(0.0, 1.0), format=number_text, default=0.5),
        widget("v", "corner_v", number(0.0, 1.0), format=number_text, default=0.5),
        widget("images", "gen_count", integer(4, 32, 4), default=16),
        widget("gen_seed", "gen_seed", integer(0, 10_000), default=0),
        widget("gen_noise", "gen_noise", number(0.0, 3.0), format=number_text, default=0.5)),
    "views/draw.py": (MODEL, widget("map", "draw_map", choice(MAP_MODES), default="plane")),
    "views/compare.py": (
        widget("map", "compare_mode", choice(MAP_MODES), default="plane"),
        widget("cap", "compare_cap", integer(500, 5000, 500), default=1500),
        widget("left", "compare_left", run_path, format=lambda path: path.name, default=DEFAULT_RUN),
        widget("right", "compare_right", run_path, format=lambda path: path.name,
               default=PRETRAINED_DIR / "mnist-vae-latent2")),
    "views/inside.py": (
        MODEL, widget("tab", "inside_tab", choice(INSIDE_TABS), default=INSIDE_TABS[0]),
        widget("other", "inside_compare", run_path, format=lambda path: path.name),  # a sparse run other than this
        widget("first", "inside_first", integer(0, 992, 8), default=0),
        widget("layers", "layers_source", choice(("this run", *(preset.name for preset in list_presets()))),
               default="this run"),
        LAYERS_SHAPE),
    "views/denoise.py": (
        MODEL, widget("test_noise", "denoise_kind",  # its default is the noise the model trained with
                      choice(tuple(kind for kind in NOISE_KINDS if kind != "none"))),
        widget("level", "denoise_level", number(0.0, 1.0), format=number_text, default=0.5)),
    "views/probes.py": (MODEL, widget("labels", "probe_k", integer(1), default=5)),
    "views/labs.py": (LABS_RUN, widget("query", "lab_query", integer(0), default=0)),
    "views/sweep.py": SWEEP_LINKS,
    "views/own_images.py": OWN_LINKS,
    "views/slow_motion.py": (widget("rate", "slowmo_rate", one_of(RATES), format=number_text, default=1.0),),
}
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


def restore_links(links: tuple[Link, ...], params: Mapping[str, str], state: State,
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
        if not link.widget:
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


def share_link(base: str, params: Mapping[str, str]) -> str:
    """``base`` (the page's URL) with ``params`` as its query string."""
    return f"{base}?{urlencode(params)}" if params else base


def qr_png(text: str, size: int = 480) -> bytes:
    """A QR code of ``text`` as PNG bytes about ``size`` pixels wide: black modules on white, each a whole number
    of pixels (sharp when shown at its own size), inside the standard 4-module quiet zone. The smallest symbol
    that holds the text (fewest, so largest, modules: what a phone at the back of a room needs), its error
    correction then raised as far as that symbol allows (segno's ``boost_error``)."""
    import segno  # here, not at the top: its import (0.16 s) would hold up every server's first page

    code = segno.make_qr(text, error="l", boost_error=True)
    modules = code.symbol_size(border=4)[0]
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=max(4, size // modules), border=4)
    return buffer.getvalue()


@st.dialog("Share this view", width="large")
def _share_dialog(link: str) -> None:
    qr_column, text_column = st.columns([3, 2])
    qr_column.image(qr_png(link), caption="Scan it to open this page as it is now")
    text_column.markdown("**The link** opens this page with the same model, maps, choices and settings, "
                         "in any browser that reaches this server (in the plain view, not the presenter's).")
    text_column.code(link, language=None, wrap_lines=True)


def sidebar_tools(path: str, url_path: str) -> None:
    """The sidebar's Share button (a dialog with the page's link and its QR code) and the presenter-view toggle."""
    with st.sidebar:
        share_column, present_column = st.columns(2, vertical_alignment="center")
        if share_column.button("Share", icon=":material/qr_code_2:", key="share_view", width="stretch",
                               help="A link and a QR code that open this page as it is now"):
            params = {name: text for name, text in wanted_params(path).items() if name != PRESENT.param}
            _share_dialog(share_link(st.context.url or f"/{url_path}", params))  # students get the plain view
        with present_column:
            present_toggle()
