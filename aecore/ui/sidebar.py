"""The shared sidebar: a preset and every training setting, its widgets generated from :mod:`aecore.settings`.

The settings live in one plain dict in session state (:data:`SETTINGS_KEY`), the
single source of truth: page switches never clear it, and only the widgets'
``on_change`` callbacks and the preset picker write to it. Widgets are drawn from
it by writing each value into the widget's key before the widget is created,
never through ``value=``: a keyed widget keeps its identity when ``value=``
changes, so a value passed that way (a preset's) never reaches the browser, which
goes on showing the old one and sends it back on the next page switch, where it
used to win. A value written to the key is pushed to the browser.

The dict also travels in links (:mod:`aecore.ui.links`): :func:`settings_params`
writes the preset and the values that differ from it as query parameters named
after the settings table, and :func:`restore_settings` reads them back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from aecore.config import RunConfig
from aecore.data import FOLDER_PREFIX, list_datasets
from aecore.describe import counted, model_name
from aecore.errors import AecoreError, ConfigError
from aecore.presets import get_preset, list_presets, preset_config
from aecore.settings import SETTINGS, Setting, apply_overrides, implied_noise_kind, values_of
from aecore.ui.state_widgets import value_argument
from aecore.uploads import server_image_folder

SETTINGS_KEY = "sidebar_settings"  # the canonical dict: {PRESET_ENTRY: name, FOLDER_ENTRY: path, setting: value}
PRESET_ENTRY, FOLDER_ENTRY = "preset", "folder"  # its entries besides the settings: the preset picked, the folder typed
DEFAULT_PRESET = "ae"
FOLDER_CHOICE = "your image folder…"


def widget_key(name: str) -> str:
    """The session-state key of the sidebar widget for the setting called ``name``."""
    return f"sidebar_{name}"


class Keys:
    """Session-state keys of the sidebar widgets (the widgets' own keys)."""

    PRESET = widget_key("preset")
    FOLDER = widget_key("folder")
    DATASET = widget_key("dataset")
    CLASSES = widget_key("classes")
    LATENT = widget_key("latent")
    ACTIVATION = widget_key("activation")
    NOISE_KIND = widget_key("noise_kind")
    NOISE = widget_key("noise")
    SPARSITY_BETA = widget_key("sparsity_beta")
    SPARSITY_RHO = widget_key("sparsity_rho")
    INIT_STD = widget_key("init_std")
    EPOCHS = widget_key("epochs")
    BATCH_SIZE = widget_key("batch_size")
    LR = widget_key("lr")
    OPTIMIZER = widget_key("optimizer")
    LAYERWISE = widget_key("layerwise_epochs")


@dataclass(frozen=True)
class SidebarChoice:
    """The sidebar's settings as a config, or the message that explains why they do not make one."""

    config: RunConfig | None
    error: str | None


def preset_settings(name: str, folder: str = "") -> dict[str, Any]:
    """The sidebar's settings for preset ``name``: every setting at the preset's value.

    ``folder`` is the image folder typed before; a preset that trains on your own
    images (dataset ``folder:``) keeps it.
    """
    values = values_of(get_preset(name).config)
    if values["dataset"].startswith(FOLDER_PREFIX):
        folder = values["dataset"].removeprefix(FOLDER_PREFIX) or folder
        values["dataset"] = FOLDER_PREFIX + folder
    return {PRESET_ENTRY: name, FOLDER_ENTRY: folder, **values}


def choice_from(settings: dict[str, Any]) -> SidebarChoice:
    """The RunConfig that ``settings`` (the sidebar's dict) describe, or the message saying what is wrong."""
    if settings["dataset"] == FOLDER_PREFIX:
        return SidebarChoice(None, "Type the path of an image folder in the sidebar (one sub-folder per class).")
    values = {setting.name: settings[setting.name] for setting in SETTINGS}
    try:
        if values["dataset"].startswith(FOLDER_PREFIX):  # only inside the roots the operator allows
            values["dataset"] = FOLDER_PREFIX + str(server_image_folder(values["dataset"][len(FOLDER_PREFIX):]))
        config = preset_config(settings[PRESET_ENTRY], **values)
    except AecoreError as exc:
        return SidebarChoice(None, str(exc))
    return SidebarChoice(config, None)


def settings_params(settings: dict[str, Any]) -> dict[str, str]:
    """The query parameters that say ``settings`` (the sidebar's dict): the preset unless it is the default, then
    each setting whose value is not the preset's, named and written as the settings table says."""
    params = {PRESET_ENTRY: settings[PRESET_ENTRY]} if settings[PRESET_ENTRY] != DEFAULT_PRESET else {}
    baseline = preset_settings(settings[PRESET_ENTRY], settings[FOLDER_ENTRY])
    for setting in SETTINGS:
        value = settings[setting.name]
        if value != baseline[setting.name] or (setting.widget == "dataset" and value.startswith(FOLDER_PREFIX)):
            params[setting.name] = setting.format(value)  # a folder is always written: the preset does not say it
    return params


def _parse_setting(setting: Setting, text: str) -> Any:
    value = setting.parse(text)
    if (setting.widget == "dataset" and not value.startswith(FOLDER_PREFIX)
            and value not in {info.name for info in list_datasets()}):
        raise ConfigError(f"{setting.name} must be a dataset of the list or {FOLDER_PREFIX}PATH; got {text!r}")
    return value


def settings_from_params(params: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The sidebar's dict that query ``params`` (as :func:`settings_params` writes them) describe, and one short
    note for each value that is garbage, which keeps the preset's value instead. Parameters that are not
    settings are ignored."""
    notes = []
    preset = params.get(PRESET_ENTRY, DEFAULT_PRESET)
    if preset not in {p.name for p in list_presets()}:
        notes.append(f"{PRESET_ENTRY}={preset!r} is not a preset")
        preset = DEFAULT_PRESET
    values = {}
    for setting in (s for s in SETTINGS if s.name in params):
        try:
            values[setting.name] = _parse_setting(setting, params[setting.name])
        except ConfigError as exc:
            notes.append(str(exc))
    base = get_preset(preset).config
    try:
        apply_overrides(base, **values)
    except ValueError:  # together they make no config: keep each value that makes one on its own
        for name, value in list(values.items()):
            try:
                apply_overrides(base, **{name: value})
            except ValueError as exc:
                notes.append(f"{name}={params[name]!r}: {exc}")
                del values[name]
    dataset = values.get("dataset", "")
    folder = dataset.removeprefix(FOLDER_PREFIX) if dataset.startswith(FOLDER_PREFIX) else ""
    settings = {**preset_settings(preset, folder), **values}
    if "noise_kind" not in values:  # as the slider does: a noise factor alone turns gaussian noise on
        settings["noise_kind"] = implied_noise_kind(settings["noise"], settings["noise_kind"])
    return settings, notes


def restore_settings(params: Mapping[str, str]) -> list[str]:
    """Make the sidebar's settings those that query ``params`` describe (a link opened in a new session);
    returns the notes on garbage values (see :func:`settings_from_params`)."""
    settings, notes = settings_from_params(params)
    st.session_state[SETTINGS_KEY] = settings
    return notes


def current_settings() -> dict[str, Any]:
    """The sidebar's settings dict (the preset, the folder typed and every setting's value)."""
    return _settings()


def _settings() -> dict[str, Any]:
    if SETTINGS_KEY not in st.session_state:
        st.session_state[SETTINGS_KEY] = preset_settings(DEFAULT_PRESET)
    return st.session_state[SETTINGS_KEY]


def current_config() -> SidebarChoice:
    """The sidebar's settings as a RunConfig (or the error message saying what is wrong)."""
    return choice_from(_settings())


def _pick_preset() -> None:
    settings = _settings()
    settings.update(preset_settings(st.session_state[Keys.PRESET], settings[FOLDER_ENTRY]))


def _store(setting: Setting) -> None:
    settings = _settings()
    value = st.session_state[widget_key(setting.name)]
    settings[setting.name] = tuple(value) if setting.kind is tuple else value
    if setting.name == "noise":
        settings["noise_kind"] = implied_noise_kind(value, settings["noise_kind"])


def _store_dataset() -> None:
    settings = _settings()
    picked = st.session_state[Keys.DATASET]
    settings["dataset"] = FOLDER_PREFIX + settings[FOLDER_ENTRY] if picked == FOLDER_CHOICE else picked


def _store_folder() -> None:
    settings = _settings()
    settings[FOLDER_ENTRY] = st.session_state[Keys.FOLDER].strip()
    settings["dataset"] = FOLDER_PREFIX + settings[FOLDER_ENTRY]


def _show(key: str, value: Any, options: Sequence[Any] | None = None, name: str = "value") -> dict[str, Any]:
    """Make the widget under ``key``, drawn next, show ``value``; returns the keyword that gives the widget its value
    (see :func:`aecore.ui.state_widgets.value_argument`).

    The value changed elsewhere (a preset, a link, a resumed run): it goes into the widget's state, which Streamlit
    sends to the browser. Otherwise it goes to the widget as its default, so that a browser that lost the widget's
    state draws the value, not the widget's own default (a number's minimum, a list's first choice), which it sent
    back as the student's change: after Start every setting could fall to its minimum. Writing the state on every
    run instead sent stale values back over keys pressed during the run."""
    if st.session_state.get(key) != value:
        st.session_state[key] = value
    return value_argument(key, value, options, name)


def _draw_dataset(setting: Setting, dataset: str, folder: str) -> None:
    names = [info.name for info in list_datasets()]
    picked = FOLDER_CHOICE if dataset.startswith(FOLDER_PREFIX) else dataset
    options = [*names, *([picked] if picked not in names else []), FOLDER_CHOICE]
    st.selectbox(setting.label, options, key=Keys.DATASET, help=setting.help, on_change=_store_dataset,
                 **_show(Keys.DATASET, picked, options, "index"))
    if picked == FOLDER_CHOICE:
        st.text_input("Image folder on the server", key=Keys.FOLDER, on_change=_store_folder,
                      placeholder="/path/to/images (one sub-folder per class)", **_show(Keys.FOLDER, folder))


def _draw(setting: Setting, settings: dict[str, Any]) -> None:
    """The widget of ``setting``, showing its value in ``settings``; its changes go back there."""
    if setting.widget == "dataset":
        _draw_dataset(setting, settings[setting.name], settings[FOLDER_ENTRY])
        return
    key, value = widget_key(setting.name), settings[setting.name]
    common = {"label": setting.label, "key": key, "help": setting.help, "on_change": _store, "args": (setting,)}
    if setting.widget == "slider":
        st.slider(min_value=min(setting.lo, value), max_value=max(setting.hi, value), step=setting.step, **common,
                  **_show(key, value))
    elif setting.widget == "number":
        st.number_input(min_value=min(setting.lo, value), max_value=max(setting.hi, value), step=setting.step,
                        **common, **_show(key, value))
    elif setting.widget == "select":
        options = [*setting.choices, *([value] if value not in setting.choices else [])]
        st.selectbox(options=options, format_func=setting.format, **common, **_show(key, value, options, "index"))
    elif setting.widget == "select_slider":
        st.select_slider(options=sorted({*setting.choices, value}), format_func=setting.format, **common,
                         **_show(key, value))
    elif setting.widget == "multiselect":
        st.multiselect(options=sorted({*setting.choices, *value}), placeholder=setting.none_text, **common,
                       **_show(key, list(value), name="default"))
    else:
        raise ValueError(f"setting {setting.name!r}: the sidebar cannot draw a {setting.widget!r} widget")


def render_sidebar(where=None, show_training_settings: bool = True) -> None:
    """Draw the sidebar's settings (app.py calls this on every page) in ``where`` (a container of the sidebar;
    None: the sidebar itself): the preset and the settings table's widgets.

    With ``show_training_settings`` false (pages where they do not act) it only
    says where they are; the settings are kept all the same.
    """
    settings = _settings()
    with where if where is not None else st.sidebar:
        if not show_training_settings:
            st.caption("The training settings are on the **Train** page (**Your images** has its own).")
            return
        st.header("Training settings")
        presets = [preset.name for preset in list_presets()]
        st.selectbox("Preset", presets, key=Keys.PRESET, on_change=_pick_preset,
                     help="The lectures' autoencoders as named settings: picking one sets every setting below",
                     **_show(Keys.PRESET, settings[PRESET_ENTRY], presets, "index"))
        st.caption(get_preset(settings[PRESET_ENTRY]).summary)
        for setting in (s for s in SETTINGS if s.group == "main"):
            _draw(setting, settings)
        with st.expander("Advanced"):
            for setting in (s for s in SETTINGS if s.group == "advanced"):
                _draw(setting, settings)


def describe(config: RunConfig) -> str:
    """One line for people: ``ae on mnist · latent 2 · noise 0 · sparsity β 0 · 10 epochs · adam lr 0.001``."""
    data, objective, train = config.data, config.objective, config.train
    classes = f" · classes {', '.join(map(str, data.classes))}" if data.classes else ""
    return (f"**{config.preset}** ({model_name(config.model)}) on **{data.name}** · "
            f"latent {config.model.latent_dim} · "
            f"noise {objective.noise_factor:g} ({objective.noise}) · sparsity β {objective.sparsity_beta:g} · "
            f"{counted(train.epochs, 'epoch')} · batch {train.batch_size} · {train.optimizer} lr {train.lr:g}{classes}")
