"""The Your-images page's pieces: choosing the images (an upload, or a folder on the server the operator
allows), reading them (in memory, or streamed when they are over the memory budget), showing what was read
and what was skipped, and the map of the codes a model gives them.

The map is Explore's (:mod:`aecore.ui.map_view`): PCA at once, t-SNE and UMAP in a
shared background job, redrawn as they converge. The model is the session's, not
a run folder, so a finished map is cached on disk under the codes themselves
(:meth:`aecore.projection_cache.ProjectionKey.of_codes`): the same codes get it at
once, in any session and after a restart."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from aecore.config import DataConfig
from aecore.data import IMAGE_SUFFIXES, Dataset, load_dataset, safe_name
from aecore.describe import counted
from aecore.errors import AecoreError
from aecore.folder_map import encode_folder_points, folder_image_count, point_files, point_pixels
from aecore.jobs.projection_work import current_map, shared_projections
from aecore.latent import class_name, latent_csv_text
from aecore.latent_map import DEFAULT_MAP_SIZE, LatentMap, MapPoints, map_sizes, projected_map
from aecore.limits import MAX_UPLOAD_MB, upload_limits_text
from aecore.models import AutoEncoder
from aecore.projection import METHODS, Projection, project
from aecore.projection_cache import ProjectionKey, codes_digest
from aecore.ui import state_widgets
from aecore.ui.charts import latent_map_figure
from aecore.ui.composite_state import OWN_FOLDER_KEY, OWN_REPORT_KEY
from aecore.ui.hover import hover_rows
from aecore.ui.identity import my_owner, my_upload_folder
from aecore.ui.map_view import STOPPED, ShownMap, session_watcher, show_map
from aecore.ui.page_state import OWN_MAP
from aecore.ui.shared_resources import job_service
from aecore.ui.widgets import image_strip, map_pick, show_picture
from aecore.uploads import (
    DEFAULT_CLASS,
    SERVER_FOLDERS_OFF,
    Upload,
    allowed_image_roots,
    ingest_uploads,
    server_image_folder,
)

FOLDER_KEY, REPORT_KEY = OWN_FOLDER_KEY, OWN_REPORT_KEY  # session: the folder in use, the upload's skipped files
PICKED_SHOWN = 40  # picked images shown under the map


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
    try:
        job_service().check_upload_room(my_owner())
    except AecoreError as exc:
        st.error(f"The upload was refused: {exc}")
        return
    folder = my_upload_folder()
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
        with st.expander(f"{counted(len(skipped), 'file')} skipped, each with its reason"):
            st.dataframe(pd.DataFrame(skipped, columns=["file", "reason"]), hide_index=True, width="stretch")
    # the classes side by side, four a row, each a block of 4x2 examples: the page's width, at any width
    columns = st.columns(min(4, len(data.class_names)))
    for label, name in enumerate(data.class_names):
        examples = data.train.x[(data.train.y == label).nonzero().flatten()[:8]].numpy()  # 8 read, even streamed
        if len(examples):
            show_picture(columns[label % len(columns)], image_strip(examples, scale=2, columns=4), caption=name,
                         width="stretch")


@dataclass(frozen=True)
class _Encoded:
    """The codes of a sample of the session's folder under its model, and what depends on them only."""

    model: AutoEncoder
    data: Dataset
    points: MapPoints
    files: list[str]  # each point's split and file (point_files)
    pca: Projection
    digest: str  # of the codes: names their t-SNE and UMAP maps, and the hover images' rows


def _encoded(model: AutoEncoder, data: Dataset, cap: int, key: str) -> _Encoded:
    """The session's codes of ``cap`` images (encoded once per model, data and cap, then kept in the session)."""
    held = st.session_state.get(f"{key}_map_codes")
    if held is None or held.model is not model or held.data is not data or len(held.points) != cap:
        with st.spinner("Encoding the images…"):
            points = encode_folder_points(model, data, cap)
        held = _Encoded(model, data, points, point_files(data, points), project(points.codes, "pca"),
                        codes_digest(points.codes))
        st.session_state[f"{key}_map_codes"] = held
    return held


def _map_now(encoded: _Encoded, method: str) -> ShownMap:
    """The map to draw now (:func:`aecore.ui.map_view.map_now` for codes of no run folder): PCA at once; t-SNE and
    UMAP from the disk cache, or requested as a shared background job (unless this session stopped it) and
    shown as the PCA map, then the layout so far."""
    if method == "pca":
        return ShownMap(projected_map(encoded.pca))
    codes = encoded.points.codes
    key = ProjectionKey.of_codes(codes, method, digest=encoded.digest)
    stopped = key.text() in st.session_state.get(STOPPED, set())
    the_map = current_map(key, codes, encoded.pca, start=not stopped, watcher=session_watcher())
    job = shared_projections().job(key)
    if the_map.final or stopped or job is None or job.status().final:
        return ShownMap(the_map, key)
    return ShownMap(the_map, key, job, lambda: current_map(key, codes, encoded.pca, start=False))


def codes_map(model: AutoEncoder, data: Dataset, key: str) -> None:
    """The codes of the folder's images (every split, up to a chosen number) on a 2-D map that never waits:
    PCA at once, t-SNE and UMAP computed in the background and drawn as they converge (progress line, Stop),
    cached on disk by the codes themselves. Hovering a point shows its image; a click, box or lasso shows the
    picked images under the map; a CSV holds codes and map. Widget keys: the map's (:data:`OWN_MAP`), ``{key}_map_cap``,
    ``{key}_map_chart``, ``{key}_map_stop``, ``{key}_map_restart``, ``{key}_hover``, ``{key}_csv``."""
    st.subheader("The codes of your images")
    method_column, cap_column = st.columns(2)
    method = state_widgets.draw(method_column, OWN_MAP, format_func=METHODS.get)
    total = folder_image_count(data)
    sizes = map_sizes(total)
    if len(sizes) > 1:
        cap = cap_column.select_slider("On the map", sizes, min(DEFAULT_MAP_SIZE, total),
                                       format_func="{:,}".format, key=f"{key}_map_cap")
    else:  # one choice: a slider of one stop is a dot
        cap = sizes[0]
        cap_column.caption(f"On the map: all {cap:,} images")
    encoded = _encoded(model, data, cap, key)
    points, files = encoded.points, encoded.files
    shown = _map_now(encoded, method)
    chart_key = f"{key}_map_chart"
    pick = map_pick(chart_key, f"{key}_pick_{method}_{cap}")  # rows are the map's points: one pick per map

    def draw(the_map: LatentMap):
        marker = tuple(the_map.points[pick.rows[0]]) if len(pick.rows) == 1 else None  # moves with a layout
        return st.plotly_chart(latent_map_figure(
            the_map.points, points.labels, data.class_names, axis_labels=the_map.axis_labels, marker=marker,
            marker_name="picked", point_ids=points.indices, splits=points.splits, selectable=True,
            drawn_rows=the_map.drawn_rows), key=chart_key,
            on_select="rerun", selection_mode=("points", "box", "lasso"), theme=None)

    st.caption(f"{len(points):,} of {total:,} images, coloured by class, unseen test ones outlined. Hover a point "
               "to see its image; click one, or use the box and lasso tools, to see them under the map.")
    show_map(shown, draw, pick, f"{key}_map")
    hover_rows(f"{key}|{points.selection}|{encoded.digest}", len(points),
               lambda row: (point_pixels(data, points, [row]),
                            f"{files[row]}, class {class_name(data.class_names, int(points.labels[row]))}"),
               chart_key, f"{key}_hover")
    _show_picked(data, points, files, pick.rows)
    st.download_button("Download codes and map as CSV", lambda: latent_csv_text(  # written when clicked
        points.codes, points.labels, data.class_names, shown.map.projections, files), file_name="my-images-latent.csv",
        mime="text/csv", icon=":material/download:", key=f"{key}_csv")


def _show_picked(data: Dataset, points: MapPoints, files: list[str], rows: tuple[int, ...]) -> None:
    """The picked images (the first PICKED_SHOWN), named."""
    if not rows:
        return
    shown = rows[:PICKED_SHOWN]
    width = data.input_shape[-1]
    if len(shown) == 1:
        caption = f"{files[shown[0]]}, class {class_name(data.class_names, int(points.labels[shown[0]]))}"
        show_picture(st, image_strip(point_pixels(data, points, shown), scale=max(1, round(192 / width))),
                     caption=caption)
        return
    more = f", the first {PICKED_SHOWN} shown" if len(rows) > PICKED_SHOWN else ""
    strip = image_strip(point_pixels(data, points, shown), scale=max(1, round(64 / width)), columns=min(10, len(shown)))
    show_picture(st, strip, width="stretch" if len(shown) >= 10 else "content",
                 caption=f"{len(rows)} selected images{more}")
