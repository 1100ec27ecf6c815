"""Widgets and small drawing helpers that several pages share: the run picker, the map choice and the
pick on a map, the buttons that send an image to Interpolate, pictures with a PNG download, the save-run form, image
strips and short number formats."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from aecore.checkpoints import PRETRAINED_DIR, list_runs
from aecore.class_board import BOARD
from aecore.errors import AecoreError
from aecore.jobs.training_job import TrainingJob
from aecore.pixels import png_bytes
from aecore.ui import state_widgets
from aecore.ui.composite_state import DEFAULT_RUN, RUN_PICKER_KEY, SELECTED_RUN
from aecore.ui.made_once import MadeOnce
from aecore.ui.map_pick import MapPick, read_pick
from aecore.ui.page_state import INTERPOLATE_FROM, INTERPOLATE_TO
from aecore.ui.state_values import Value
from aecore.viz import mosaic, stacked_rows, to_pil

WIDEST_PICTURE_PX = 2 * 730  # Streamlit's widest image (MAXIMUM_CONTENT_WIDTH in its image_utils)
PICTURES = MadeOnce(kept=512)  # PNG bytes of strips (a few MB), by their pixels and layout


def _picture(make: Callable[[], Image.Image], *parts) -> bytes:
    """PNG bytes of the picture ``make`` draws from ``parts`` (arrays, numbers), made once for the process: a
    class following the teacher draws the same pictures thirty times at once. Show them with
    :func:`show_picture`."""
    return PICTURES.get(lambda: png_bytes(make()), *parts)


def image_strip(images: np.ndarray, scale: int = 4, columns: int | None = None) -> bytes:
    """PNG bytes of (N, C, H, W) pixels in [0, 1], tiled in one row (or ``columns`` per row), enlarged."""
    columns = columns or len(images)
    return _picture(lambda: to_pil(mosaic(images, columns, padding=1, pad_value=1.0), scale=scale),
                    images, scale, columns)


def image_rows(*rows: np.ndarray, scale: int = 4) -> bytes:
    """PNG bytes of equal-length batches (N, C, H, W) one above the other (e.g. inputs over reconstructions)."""
    return _picture(lambda: to_pil(stacked_rows(*rows), scale=scale), scale, *rows)


def show_picture(container, picture: bytes, *, width: int | str = "content", caption: str | None = None) -> None:
    """PNG bytes shown by ``container.image`` as they are. Streamlit shrinks a picture wider than it is shown (and
    encodes it again) on every run of every page that shows it: with a class following the teacher, half of Home's
    time. The shrunk picture is made here, once for the process, as Streamlit would (bilinear)."""
    shown_px = width if isinstance(width, int) else WIDEST_PICTURE_PX
    container.image(_fitted(picture, shown_px), width=width, caption=caption, output_format="PNG")


def _fitted(picture: bytes, width: int) -> bytes:
    """``picture`` (PNG bytes), or a copy shrunk to ``width`` pixels if it is wider."""
    with Image.open(io.BytesIO(picture)) as image:  # reads the header only
        if image.width <= width:
            return picture

    def shrunk() -> Image.Image:
        with Image.open(io.BytesIO(picture)) as image:
            height = int(1.0 * image.height * width / image.width)
            return image.resize((width, height), resample=Image.BILINEAR)

    return _picture(shrunk, np.frombuffer(picture, dtype=np.uint8), width)


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
    runs = list_runs()
    chosen = st.session_state.get(SELECTED_RUN)
    if chosen and Path(chosen) in runs:
        return Path(chosen)
    if DEFAULT_RUN in runs:
        return DEFAULT_RUN
    return runs[0] if runs else None


def run_label(path: Path) -> str:
    """A run's name and where it comes from: ``mnist-ae-latent2 (shipped)``, ``Blue Otter, epoch 5 (class board)``."""
    if (board_label := BOARD.label_of(path)) is not None:
        return f"{board_label} (class board)"
    where = "shipped" if path.parent == PRETRAINED_DIR else "saved"
    return f"{path.name} ({where})"


def comparable_runs() -> list[Path]:
    """The runs Compare offers: shipped and saved runs, then the class board's runs opened in Compare."""
    return [*list_runs(), *BOARD.compare_runs()]


def run_picker(label: str = "Model to explore") -> Path | None:
    """A selectbox of shipped and saved runs that sets the run every page shows."""
    runs = list_runs()
    if not runs:
        st.info("No runs yet: train one on the Train page, or run `make checkpoints`.")
        return None
    current = selected_run()

    def remember() -> None:
        st.session_state[SELECTED_RUN] = str(st.session_state[RUN_PICKER_KEY])

    # The chosen run is the truth (a link, a tour or a sweep sets it): the picker's value follows it, given through
    # the session state and not as an index too (both made Streamlit warn), which also outlives a page switch.
    st.session_state[RUN_PICKER_KEY] = current
    st.selectbox(label, runs, format_func=run_label, key=RUN_PICKER_KEY, on_change=remember)
    return Path(st.session_state[RUN_PICKER_KEY])


def map_choice(container, modes: dict[str, str], value: Value) -> str:
    """Horizontal radio buttons over ``modes`` (mode -> label, see :func:`aecore.latent_map.map_modes`), the
    page's map ``value``; the first mode offered is the default."""
    return state_widgets.draw(container, value, options=list(modes), default=next(iter(modes)),
                              format_func=modes.get)


def two_dimensions(container, latent_dim: int, x: Value, y: Value) -> tuple[int, int]:
    """Two number inputs side by side choosing the x and y latent dimensions of a map (the values ``x`` and
    ``y``); stops the page with a message while they are the same."""
    x_column, y_column = container.columns(2)
    dims = (state_widgets.draw(x_column, x, hi=latent_dim - 1), state_widgets.draw(y_column, y, hi=latent_dim - 1))
    if dims[0] == dims[1]:
        st.error("Choose two different dimensions for the axes.")
        st.stop()
    return dims


def map_pick(chart_key: str, memory_key: str) -> MapPick:
    """The last pick on the latent map drawn with ``chart_key``, kept under ``memory_key``: Plotly forgets a
    selection whenever the figure is redrawn, so a pick lasts until the next one (or a map of another kind)."""
    fresh = read_pick(st.session_state.get(chart_key))
    if fresh.position is not None or fresh.rows:
        st.session_state[memory_key] = fresh
    return st.session_state.get(memory_key, fresh)


def interpolation_buttons(test_index: int, key: str) -> None:
    """"Interpolate from it" and "Interpolate to it": make test image ``test_index`` the start or the end
    image of the Interpolate page."""
    ends = (("start", "from", INTERPOLATE_FROM), ("end", "to", INTERPOLATE_TO))
    row = st.container(horizontal=True)  # one row that wraps: beside a map, half a column cut "Interpolate fro..."
    for end, label, choice in ends:
        row.button(f"Interpolate {label} it", on_click=st.session_state.__setitem__,
                   args=(choice.index.key, test_index), key=f"{key}_{end}",
                   help=f"Sets the {end} image on the Interpolate page", width="content")


def png_download(container, label: str, image: Image.Image | bytes, file_name: str, key: str) -> None:
    """A button that downloads ``image`` (a PIL image, or PNG bytes) as a PNG file."""
    data = image if isinstance(image, bytes) else png_bytes(image)
    container.download_button(label, data, file_name=file_name, mime="image/png",
                              icon=":material/image:", key=key)


def png_picture(container, image: bytes, *, caption: str, width: int | str, download: str, file_name: str,
                key: str) -> None:
    """An image (PNG bytes) with a button under it that downloads it as a PNG file."""
    show_picture(container, image, width=width, caption=caption)
    png_download(container, download, image, file_name, key)


def save_run_form(job: TrainingJob, key: str, *, label: str, placeholder: str, disabled: bool = False) -> None:
    """A name field and a Save button that save ``job``'s model as a run; says where to find it, or why not.
    Its widgets' keys: ``{key}_name`` and ``{key}_submit``."""
    with st.form(key, border=False):
        name_column, button_column = st.columns([3, 1], vertical_alignment="bottom")  # the label whole at 1024 px
        run_name = name_column.text_input(label, placeholder=placeholder, disabled=disabled, key=f"{key}_name")
        if button_column.form_submit_button("Save run", icon=":material/save:", width="stretch", disabled=disabled,
                                            key=f"{key}_submit"):
            try:
                job.save(run_name)
            except AecoreError as exc:
                st.error(str(exc))
            else:
                st.success(f"Saved: pick **{run_name.strip()}** on any page's model picker.")
