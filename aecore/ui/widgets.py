"""Small drawing helpers shared by the pages."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import streamlit as st

from aecore.checkpoints import PRETRAINED_DIR
from aecore.ui.loaders import available_runs
from aecore.viz import mosaic, stacked_rows, to_pil

SELECTED_RUN = "selected_run"  # session key: the run every page shows (a path string)
DEFAULT_RUN = PRETRAINED_DIR / "mnist-ae-latent2"


def image_strip(images: np.ndarray, scale: int = 4, columns: int | None = None):
    """A PIL image of (N, C, H, W) pixels in [0, 1], tiled in one row (or ``columns`` per row), enlarged."""
    return to_pil(mosaic(images, columns or len(images), padding=1, pad_value=1.0), scale=scale)


def image_rows(*rows: np.ndarray, scale: int = 4):
    """Equal-length batches (N, C, H, W) one above the other (e.g. inputs over reconstructions) as a PIL image."""
    return to_pil(stacked_rows(*rows), scale=scale)


def format_eta(seconds: float | None) -> str:
    """``1 min 05 s`` style; an em dash when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def format_code(code: np.ndarray, shown: int = 3) -> str:
    """A short text for a latent vector: ``(+1.20, -0.35)``, or its first values then ``…``."""
    values = ", ".join(f"{v:+.2f}" for v in code[:shown])
    return f"({values}{', …' if len(code) > shown else ''})"


def selected_run() -> Path | None:
    """The run the pages show: the user's pick, else the shipped 2-D autoencoder, else the first run."""
    runs = available_runs()
    chosen = st.session_state.get(SELECTED_RUN)
    if chosen and Path(chosen) in runs:
        return Path(chosen)
    if DEFAULT_RUN in runs:
        return DEFAULT_RUN
    return runs[0] if runs else None


def run_label(path: Path) -> str:
    where = "shipped" if path.parent == PRETRAINED_DIR else "saved"
    return f"{path.name} ({where})"


def run_picker(label: str = "Model to explore") -> Path | None:
    """A selectbox of shipped and saved runs that sets the run every page shows."""
    runs = available_runs()
    if not runs:
        st.info("No runs yet: train one on the Train page, or run `make checkpoints`.")
        return None
    current = selected_run()

    def remember() -> None:
        st.session_state[SELECTED_RUN] = str(st.session_state["run_picker"])

    st.selectbox(label, runs, index=runs.index(current), format_func=run_label, key="run_picker",
                 on_change=remember)
    return Path(st.session_state["run_picker"])
