"""The Your-images page's pieces: choosing the images (an upload, or a folder on the server the operator
allows), reading them (in memory, or streamed when they are over the memory budget), showing what was read
and what was skipped, and the map of the codes a model gives them."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import streamlit as st

from aecore.config import DataConfig
from aecore.data import IMAGE_SUFFIXES, Dataset, Split, load_dataset, safe_name
from aecore.errors import AecoreError
from aecore.latent import encode_images, latent_csv_text
from aecore.limits import MAX_UPLOAD_MB, upload_limits_text
from aecore.models import AutoEncoder
from aecore.projection import METHODS, project
from aecore.ui.charts import DATA_TRACE, latent_map_figure, read_pick
from aecore.ui.loaders import session_upload_folder
from aecore.ui.widgets import image_strip
from aecore.uploads import (
    DEFAULT_CLASS,
    SERVER_FOLDERS_OFF,
    Upload,
    allowed_image_roots,
    ingest_uploads,
    server_image_folder,
)

FOLDER_KEY, REPORT_KEY = "own_folder", "own_report"  # session: the folder in use, the upload's skipped files


def choose_images() -> str | None:
    """An Upload tab and a server-folder tab; the folder this session chose (a path string), or None."""
    upload_tab, folder_tab = st.tabs(["Upload", "A folder on the server"])
    with upload_tab:
        _upload()
    with folder_tab:
        _server_folder()
    return st.session_state.get(FOLDER_KEY)


def _upload() -> None:
    files = st.file_uploader("A .zip of class folders, or images", type=["zip", *(s[1:] for s in IMAGE_SUFFIXES)],
                             accept_multiple_files=True, max_upload_size=MAX_UPLOAD_MB, key="own_files")
    st.caption(upload_limits_text())
    loose = [f for f in files or [] if not f.name.lower().endswith(".zip")]
    classes = pd.DataFrame({"image": [safe_name(f.name, path_part=False) for f in loose],
                            "class": [DEFAULT_CLASS] * len(loose)})
    edited = st.data_editor(classes, disabled=["image"], hide_index=True, key="own_classes") if loose else classes
    if not files or not st.button("Use these images", type="primary", icon=":material/upload:", key="own_use"):
        return
    chosen = iter(str(c or DEFAULT_CLASS) for c in edited["class"])  # the loose images' classes, in order
    # the uploaded files themselves (seekable, in memory): archives are read in place, not copied
    uploads = [Upload(f.name, f, next(chosen)) if f in loose else Upload(f.name, f) for f in files]
    folder = session_upload_folder()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        report = ingest_uploads(uploads, folder)
    except AecoreError as exc:
        st.session_state.pop(FOLDER_KEY, None)
        st.error(f"The upload was refused: {exc}")
        return
    st.session_state[FOLDER_KEY], st.session_state[REPORT_KEY] = str(folder), report.skipped


def _server_folder() -> None:
    roots = allowed_image_roots()
    if not roots:
        st.info(SERVER_FOLDERS_OFF)
        return
    st.caption("Folders inside " + ", ".join(f"`{root}`" for root in roots) + " can be used.")
    path = st.text_input("Path of a folder with one sub-folder per class", key="own_server_folder")
    if path and st.button("Use this folder", key="own_use_folder"):
        try:
            folder = server_image_folder(path)
        except AecoreError as exc:
            st.error(str(exc))
            return
        st.session_state[FOLDER_KEY], st.session_state[REPORT_KEY] = str(folder), []


def read_images(config: DataConfig) -> Dataset:
    """The chosen folder as a dataset, with a progress bar while a folder over the memory budget is decoded into
    its cache; the line saying which path was taken (in memory or streamed, and why) goes under it."""
    bar = st.empty()

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Decoding the images into a cache on disk: {done:,} of {total:,}")

    with st.spinner("Reading the images…"):
        data = load_dataset(config, progress=progress)
    bar.empty()
    st.caption(data.loading)
    return data


def show_images(data: Dataset) -> None:
    """Images per class and per split, the files skipped (upload and reading) with reasons, a strip per class."""
    skipped = [*st.session_state.get(REPORT_KEY, []), *data.skipped]
    counts = np.bincount(np.concatenate([data.train.y.numpy(), data.val.y.numpy(), data.test.y.numpy()]),
                         minlength=len(data.class_names))
    st.markdown(" · ".join(f"**{name}**: {count} images" for name, count in zip(data.class_names, counts, strict=True))
                + f" · {len(data.train) + len(data.val)} for training, {len(data.test)} unseen")
    if len(data.class_names) == 1:
        st.warning("Only one class: the autoencoder still learns, but the map will have a single colour.")
    if skipped:
        with st.expander(f"{len(skipped)} file{'s' if len(skipped) != 1 else ''} skipped, each with its reason"):
            st.dataframe(pd.DataFrame(skipped, columns=["file", "reason"]), hide_index=True, width="stretch")
    for label, name in enumerate(data.class_names):
        examples = data.train.x[(data.train.y == label).nonzero().flatten()[:8]].numpy()  # 8 read, even streamed
        if len(examples):
            st.image(image_strip(examples, scale=1), caption=name, width=min(900, 110 * len(examples)))


def codes_map(model: AutoEncoder, data: Dataset, key: str) -> None:
    """The codes of the training and unseen images on a 2-D map (click or lasso shows the images), and a
    CSV of codes and map. Widget keys: ``{key}_map``, ``{key}_map_chart``, ``{key}_csv``."""
    st.subheader("The codes of your images")
    splits = [("train", data.train), ("test", data.test)]
    labels = np.concatenate([split.y.numpy() for _, split in splits])
    names = [f"{split_name}:{name}" for split_name, split in splits for name in (split.names or [""] * len(split))]
    codes = np.concatenate([encode_images(model, split.x) for _, split in splits])  # batch by batch, even streamed
    method = st.radio("Map", list(METHODS), format_func=METHODS.get, horizontal=True, key=f"{key}_map")
    with st.spinner("Computing the map…"):
        points = project(codes, method, perplexity=min(30.0, max(2.0, (len(codes) - 1) / 3))).points
    pick = read_pick(st.session_state.get(f"{key}_map_chart"), DATA_TRACE)
    axes = (f"{METHODS[method]} 1", f"{METHODS[method]} 2")
    st.plotly_chart(latent_map_figure(points, labels, data.class_names, axis_labels=axes), key=f"{key}_map_chart",
                    on_select="rerun", selection_mode=("points", "box", "lasso"), theme=None)
    if pick.rows:
        st.image(image_strip(_images_at([split for _, split in splits], pick.rows[:40]), scale=1, columns=10),
                 width="stretch", caption="the selected images")
    st.download_button("Download codes and map as CSV", latent_csv_text(codes, labels, data.class_names,
                       {method: points}, names), file_name="my-images-latent.csv", mime="text/csv",
                       icon=":material/download:", key=f"{key}_csv")


def _images_at(splits: list[Split], rows) -> np.ndarray:
    """Images (len(rows), C, H, W) at ``rows`` of the splits placed one after another; only those are read."""
    starts = np.cumsum([0, *(len(split) for split in splits)])
    picked = []
    for row in rows:
        at = int(np.searchsorted(starts, row, side="right")) - 1
        picked.append(splits[at].x[int(row - starts[at])].numpy())
    return np.stack(picked)
