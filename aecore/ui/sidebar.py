"""The shared sidebar: dataset, preset and the three sliders that define the project.

Its widgets are drawn by app.py on every page, so their values persist across
pages; :func:`current_config` turns them into a RunConfig through the same
override table the CLI uses (:data:`aecore.config.OVERRIDES`).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from aecore.config import OPTIMIZERS, RunConfig
from aecore.data import FOLDER_PREFIX, list_datasets
from aecore.errors import AecoreError
from aecore.presets import get_preset, list_presets, preset_config


class Keys:
    """Session-state keys of the sidebar widgets (the widgets' own keys)."""

    PRESET = "sidebar_preset"
    DATASET = "sidebar_dataset"
    FOLDER = "sidebar_folder"
    LATENT = "sidebar_latent"
    NOISE = "sidebar_noise"
    SPARSITY_BETA = "sidebar_sparsity_beta"
    SPARSITY_RHO = "sidebar_sparsity_rho"
    EPOCHS = "sidebar_epochs"
    BATCH_SIZE = "sidebar_batch_size"
    LR = "sidebar_lr"
    OPTIMIZER = "sidebar_optimizer"
    LAYERWISE = "sidebar_layerwise"


FOLDER_CHOICE = "your image folder…"
DEFAULT_PRESET = "ae"
LATENT_MAX, BETA_MAX = 128, 5.0
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCH_SIZES = (5, 8, 16, 32, 50, 64, 100, 128, 256, 512, 1024)


@dataclass(frozen=True)
class SidebarChoice:
    """The sidebar's settings as a config, or the message that explains why they do not make one."""

    config: RunConfig | None
    error: str | None


SETTINGS = "sidebar_settings"  # the canonical values: a plain dict that page switches never clear


def _values_of(config: RunConfig) -> dict:
    data = config.data.name
    folder = data.startswith(FOLDER_PREFIX)
    return {
        Keys.DATASET: FOLDER_CHOICE if folder else data,
        Keys.FOLDER: data[len(FOLDER_PREFIX):] if folder else "",
        Keys.LATENT: config.model.latent_dim,
        Keys.NOISE: float(config.objective.noise_factor),
        Keys.SPARSITY_BETA: float(config.objective.sparsity_beta),
        Keys.SPARSITY_RHO: float(config.objective.sparsity_rho),
        Keys.EPOCHS: config.train.epochs,
        Keys.BATCH_SIZE: config.train.batch_size,
        Keys.LR: config.train.lr,
        Keys.OPTIMIZER: config.train.optimizer,
        Keys.LAYERWISE: config.train.layerwise_epochs,
    }


def _settings() -> dict:
    state = st.session_state
    if SETTINGS not in state:
        state[SETTINGS] = {Keys.PRESET: DEFAULT_PRESET, **_values_of(get_preset(DEFAULT_PRESET).config)}
    return state[SETTINGS]


def apply_preset() -> None:
    """The preset picker's callback: take every value from the chosen preset and redraw the widgets with it."""
    settings = _settings()
    settings[Keys.PRESET] = st.session_state[Keys.PRESET]
    folder = settings[Keys.FOLDER]
    settings.update(_values_of(get_preset(settings[Keys.PRESET]).config))
    settings[Keys.FOLDER] = settings[Keys.FOLDER] or folder
    for key in settings:
        if key != Keys.PRESET:
            st.session_state.pop(key, None)  # a widget without state is drawn from its value= argument


def _with(options: tuple, value) -> list:
    return sorted({*options, value})


def render_sidebar() -> None:
    """Draw the sidebar widgets (app.py calls this on every page) and record their values.

    Widgets are drawn from the settings dict and write back what they return, so
    a page switch that interrupts a run and resets widget state loses nothing.
    """
    settings = _settings()
    presets = [p.name for p in list_presets()]
    datasets = [info.name for info in list_datasets()] + [FOLDER_CHOICE]
    with st.sidebar:
        st.header("Model and data")
        settings[Keys.PRESET] = st.selectbox(
            "Preset", presets, index=presets.index(settings[Keys.PRESET]), key=Keys.PRESET,
            on_change=apply_preset, help="The lectures' autoencoders as named settings")
        st.caption(get_preset(settings[Keys.PRESET]).summary)
        settings[Keys.DATASET] = st.selectbox("Dataset", datasets, index=datasets.index(settings[Keys.DATASET]),
                                              key=Keys.DATASET)
        if settings[Keys.DATASET] == FOLDER_CHOICE:
            settings[Keys.FOLDER] = st.text_input("Image folder on the server", value=settings[Keys.FOLDER],
                                                  key=Keys.FOLDER,
                                                  placeholder="/path/to/images (one sub-folder per class)")
        settings[Keys.LATENT] = st.slider("Latent size", 1, max(LATENT_MAX, settings[Keys.LATENT]),
                                          value=settings[Keys.LATENT], key=Keys.LATENT,
                                          help="Units in the code (the bottleneck)")
        settings[Keys.NOISE] = st.slider("Noise factor", 0.0, 1.0, value=settings[Keys.NOISE], step=0.05,
                                         key=Keys.NOISE, help="Corrupt the inputs while training: a denoising AE")
        settings[Keys.SPARSITY_BETA] = st.slider("Sparsity beta", 0.0, BETA_MAX, value=settings[Keys.SPARSITY_BETA],
                                                 step=0.05, key=Keys.SPARSITY_BETA,
                                                 help="Weight of the sparsity penalty on the code")
        settings[Keys.SPARSITY_RHO] = st.slider("Sparsity rho", 0.01, 0.5, value=settings[Keys.SPARSITY_RHO],
                                                step=0.01, key=Keys.SPARSITY_RHO,
                                                help="Target mean activation of each code unit (KL sparsity)")
        with st.expander("Advanced"):
            settings[Keys.EPOCHS] = st.number_input("Epochs", 1, 100_000, value=settings[Keys.EPOCHS], step=1,
                                                    key=Keys.EPOCHS)
            settings[Keys.BATCH_SIZE] = st.select_slider(
                "Batch size", _with(BATCH_SIZES, settings[Keys.BATCH_SIZE]), value=settings[Keys.BATCH_SIZE],
                key=Keys.BATCH_SIZE)
            settings[Keys.LR] = st.select_slider(
                "Learning rate", _with(LEARNING_RATES, settings[Keys.LR]), value=settings[Keys.LR], key=Keys.LR,
                format_func=lambda lr: f"{lr:g}")
            settings[Keys.OPTIMIZER] = st.selectbox("Optimiser", OPTIMIZERS,
                                                    index=OPTIMIZERS.index(settings[Keys.OPTIMIZER]),
                                                    key=Keys.OPTIMIZER)
            settings[Keys.LAYERWISE] = st.number_input(
                "Greedy layer-wise pre-training (epochs per layer, 0 = off)", 0, 100, value=settings[Keys.LAYERWISE],
                key=Keys.LAYERWISE, help="Lecture 002: train each layer pair as a shallow autoencoder first (MLP)")


def current_config() -> SidebarChoice:
    """The sidebar's settings as a RunConfig (or the error message saying what is wrong)."""
    state = _settings()
    dataset = state[Keys.DATASET]
    if dataset == FOLDER_CHOICE:
        folder = state.get(Keys.FOLDER, "").strip()
        if not folder:
            return SidebarChoice(None, "Type the path of an image folder in the sidebar (one sub-folder per class).")
        dataset = FOLDER_PREFIX + folder
    try:
        config = preset_config(
            state[Keys.PRESET], dataset=dataset, latent=state[Keys.LATENT], noise=state[Keys.NOISE],
            sparsity_beta=state[Keys.SPARSITY_BETA], sparsity_rho=state[Keys.SPARSITY_RHO],
            epochs=int(state[Keys.EPOCHS]), batch_size=int(state[Keys.BATCH_SIZE]), lr=float(state[Keys.LR]),
            optimizer=state[Keys.OPTIMIZER], layerwise_epochs=int(state[Keys.LAYERWISE]))
    except AecoreError as exc:
        return SidebarChoice(None, str(exc))
    return SidebarChoice(config, None)


def describe(config: RunConfig) -> str:
    """One line for people: ``ae on mnist · latent 2 · noise 0 · sparsity β 0 · 10 epochs · adam lr 0.001``."""
    objective, train = config.objective, config.train
    kind = "VAE" if config.model.variational else config.model.arch.upper()
    return (f"**{config.preset}** ({kind}) on **{config.data.name}** · latent {config.model.latent_dim} · "
            f"noise {objective.noise_factor:g} ({objective.noise}) · sparsity β {objective.sparsity_beta:g} · "
            f"{train.epochs} epochs · batch {train.batch_size} · {train.optimizer} lr {train.lr:g}")
