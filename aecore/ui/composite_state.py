"""Page state that is not one widget's value, and how a link carries it: the run every page shows, the presenter
view, the pick on a map, the labs that ran, the Sweep page's axes and the folder Your images reads.

Each is a :class:`aecore.ui.state_values.Link`; :mod:`aecore.ui.page_state` lists them with the pages' widget values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from aecore import labs
from aecore.checkpoints import PRETRAINED_DIR
from aecore.jobs.service import UPLOAD_FOLDER_PREFIX
from aecore.settings import SETTINGS, get_setting
from aecore.ui.map_pick import MapPick
from aecore.ui.presenter import PRESENT_KEY
from aecore.ui.state_values import Link, State, Value, boolean, flag_text, number_text, run_path
from aecore.uploads import allowed_image_roots, server_image_folder

# --- the run every page shows, and the presenter view

SELECTED_RUN = "selected_run"  # session key: the run every page shows (a path string)
DEFAULT_RUN = PRETRAINED_DIR / "mnist-ae-latent2"
RUN_PICKER_KEY = "run_picker"  # the key of aecore.ui.widgets.run_picker's selectbox


def _model(state: Mapping[str, Any]) -> Path | None:
    """The run the page shows: its picker's value, or (before the picker is drawn) the run chosen before."""
    chosen = state.get(RUN_PICKER_KEY) or state.get(SELECTED_RUN)
    return Path(chosen) if chosen else None


MODEL = Link("model", run_path, read=_model, store=lambda state, path: state.__setitem__(SELECTED_RUN, str(path)),
             clear=lambda state: state.__setitem__(SELECTED_RUN, str(DEFAULT_RUN)), format=lambda path: path.name,
             default=DEFAULT_RUN)
PRESENT = Link("present", boolean, read=lambda state: state.get(PRESENT_KEY),
               store=lambda state, on: state.__setitem__(PRESENT_KEY, on),
               clear=lambda state: state.__setitem__(PRESENT_KEY, False), format=flag_text, default=False,
               is_widget=True)

# --- the pick on a map: one per map, its kind, its images and how many (the rows are its points')

MAX_PICKED = 500  # images a link may name as picked on the map


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


def pick_key(prefix: str, mode: str, split: str, cap: int) -> str:
    """The session key of the pick on the map of kind ``mode`` showing ``cap`` images of ``split``."""
    return f"{prefix}_pick_{mode}_{split}_{cap}"


def pick_links(prefix: str, mode: Value, split: Value, cap: Value) -> tuple[Link, Link]:
    """The links of the pick on a page's map (``at``: the spot clicked; ``picked``: the rows selected), kept per
    map under :func:`pick_key`; ``mode``, ``split`` and ``cap`` are the page's values choosing the map."""

    def key(state: Mapping[str, Any]) -> str:
        return pick_key(prefix, state.get(mode.key, mode.default), state.get(split.key, split.default),
                        state.get(cap.state_key(state), cap.default))

    def read(state: Mapping[str, Any]) -> MapPick:
        return state.get(key(state)) or MapPick()

    def change(state: State, **values: Any) -> None:
        state[key(state)] = replace(read(state), **values)

    def clear(state: State, **values: Any) -> None:
        if key(state) in state:
            change(state, **values)

    return (Link("at", point, read=lambda state: read(state).position,
                 store=lambda state, xy: change(state, position=xy), clear=lambda state: clear(state, position=None),
                 format=lambda xy: f"{number_text(xy[0])},{number_text(xy[1])}"),
            Link("picked", indices, read=lambda state: read(state).rows or None,
                 store=lambda state, rows: change(state, rows=rows), clear=lambda state: clear(state, rows=()),
                 format=lambda rows: ",".join(map(str, rows))))


# --- the Lecture labs that ran

LABS_FIRST = "labs_first"  # session key: the labs a link named, which the page shows first


def lab_ran_key(lab: labs.Lab) -> str:
    """The session key that says a lab of the Lecture labs page has run (its button, or a link)."""
    return f"lab_{lab.key}_ran"


def lab_keys(text: str) -> tuple[str, ...]:
    """Comma-separated keys of the labs that ran, in the page's order."""
    keys = {lab.key for lab in labs.LABS}
    picked = set(text.split(","))
    if not picked <= keys:
        raise ValueError(f"expected labs among {', '.join(sorted(keys))}")
    return tuple(lab.key for lab in labs.LABS if lab.key in picked)


LABS_RUN = Link("lab", lab_keys,
                read=lambda state: tuple(lab.key for lab in labs.LABS if state.get(lab_ran_key(lab))) or None,
                store=lambda state, keys: state.update({lab_ran_key(lab): lab.key in keys for lab in labs.LABS},
                                                       **{LABS_FIRST: keys}),
                clear=lambda state: [state.pop(key, None) for key in (LABS_FIRST, *map(lab_ran_key, labs.LABS))],
                format=",".join)

# --- the Sweep page's two axes, each a setting and the text of its values

VARIABLE = tuple(s.name for s in SETTINGS if s.name not in ("epochs", "dataset", "device"))  # settings a sweep varies
DEFAULT_AXES = (("latent", "2,8,32"), ("noise", "0,0.3,0.5"))
CLASS_SUBSETS_EXAMPLE = "1,5,6;0,1"  # two runs: on digits 1, 5 and 6, and on 0 and 1
SWEEP_AXES = ("sweep_axis_0", "sweep_axis_1")  # session keys of the two axes' selectboxes
NOTHING = "(nothing)"  # the second axis's first option: one setting varies
MAX_VALUES_TEXT = 200


def sweep_values_key(name: str) -> str:
    """The session key of the text box holding the values a sweep gives setting ``name``."""
    return f"sweep_values_{name}"


def default_values(name: str) -> str:
    """The values a sweep over setting ``name`` starts from, as the values box shows them: the usual ones for
    latent size and noise, else a few of the setting's choices, or the ends of its range."""
    if name in dict(DEFAULT_AXES):
        return dict(DEFAULT_AXES)[name]
    setting = get_setting(name)
    if setting.kind is tuple:
        return CLASS_SUBSETS_EXAMPLE
    values = setting.choices[:3] if setting.choices else (setting.lo, setting.hi) if setting.lo is not None else ()
    return ",".join(setting.format(value) for value in values)


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
    values = state.get(sweep_values_key(name))
    return name, default_values(name) if values is None else values


def _store_axis(state: State, i: int, axis: tuple[str, str | None]) -> None:
    name, values = axis
    state[SWEEP_AXES[i]] = name
    if values is not None:
        state[sweep_values_key(name)] = values
    if i == 0 and _axis(state, 1)[0] == name:  # one setting on both axes: the form could not draw them
        state[SWEEP_AXES[1]] = NOTHING


def _a_setting(_state: Mapping[str, Any], axis: tuple[str, str | None]) -> None:
    if axis[1] is None:
        raise ValueError("expected a setting and its values, e.g. latent:2,8,32")


def _other_than_first(state: Mapping[str, Any], axis: tuple[str, str | None]) -> None:
    if axis[0] == _axis(state, 0)[0]:
        raise ValueError("expected a setting other than the first axis's")


def axis_text(axis: tuple[str, str | None]) -> str:
    """An axis as text: ``latent:2,8,32``, or ``none``."""
    return "none" if axis[1] is None else f"{axis[0]}:{axis[1]}"


NOTHING_AXIS, FIRST_AXIS, SECOND_AXIS = (NOTHING, None), DEFAULT_AXES[0], DEFAULT_AXES[1]
SWEEP_AXIS_LINKS = (
    Link("vary", sweep_axis, read=lambda state: _axis(state, 0), store=lambda state, axis: _store_axis(state, 0, axis),
         clear=lambda state: _store_axis(state, 0, FIRST_AXIS), format=axis_text, default=FIRST_AXIS,
         fits=_a_setting),
    Link("vary2", sweep_axis, read=lambda state: _axis(state, 1), store=lambda state, axis: _store_axis(state, 1, axis),
         clear=lambda state: _store_axis(state, 1, NOTHING_AXIS if _axis(state, 0)[0] == SECOND_AXIS[0]
                                         else SECOND_AXIS),
         format=axis_text, default=SECOND_AXIS, fits=_other_than_first),
)

# --- Your images: a folder on the server (never an upload: that is the session's own)

OWN_FOLDER_KEY, OWN_REPORT_KEY = "own_folder", "own_report"  # session: the folder in use, the upload's skipped files


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
                  clear=lambda state: [state.pop(key, None) for key in (OWN_FOLDER_KEY, OWN_REPORT_KEY)])
