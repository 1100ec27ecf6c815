"""Your own images (lecture 000's homework): upload labelled images, train a conv AE live, look at the codes."""

import dataclasses
import shutil

import numpy as np
import pandas as pd
import streamlit as st
import torch

from aecore.data import IMAGE_SUFFIXES, load_dataset
from aecore.errors import AecoreError
from aecore.latent import encode_images, latent_csv_text
from aecore.presets import preset_config
from aecore.projection import METHODS, project
from aecore.ui.charts import DATA_TRACE, latent_map_figure
from aecore.ui.explorer import read_pick
from aecore.ui.live import live_training
from aecore.ui.loaders import session_job, session_upload_folder
from aecore.ui.widgets import image_strip
from aecore.uploads import extract_zip, save_labelled_images

SIZES = (32, 48, 64, 96, 128, 160, 192, 224)
FOLDER_KEY, REPORT_KEY = "own_folder", "own_report"
st.title("Your images")
st.caption("Lecture 000's homework: bring a folder of images per class (happy/ and angry/ faces, Tom & Jerry "
           "frames…), train a convolutional autoencoder on them, and see what it makes of them.")
job = session_job()

upload_tab, folder_tab = st.tabs(["Upload", "A folder on the server"])
with upload_tab:
    files = st.file_uploader("A .zip of class folders, or images", type=["zip", *(s[1:] for s in IMAGE_SUFFIXES)],
                             accept_multiple_files=True, key="own_files")
    loose = [f for f in files or [] if not f.name.lower().endswith(".zip")]
    classes = pd.DataFrame({"image": [f.name for f in loose], "class": ["my-class"] * len(loose)})
    edited = st.data_editor(classes, disabled=["image"], hide_index=True, key="own_classes") if loose else classes
    if files and st.button("Use these images", type="primary", icon=":material/upload:"):
        folder = session_upload_folder()
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            reports = [extract_zip(f.getvalue(), folder) for f in files if f.name.lower().endswith(".zip")]
            if loose:
                by_name = dict(zip(edited["image"], edited["class"], strict=True))
                reports.append(save_labelled_images([(f.name, f.getvalue(), str(by_name.get(f.name) or "my-class"))
                                                     for f in loose], folder))
            st.session_state[FOLDER_KEY] = str(folder)
            st.session_state[REPORT_KEY] = [item for report in reports for item in report.skipped]
        except AecoreError as exc:
            st.error(f"The upload was refused: {exc}")
with folder_tab:
    server_folder = st.text_input("Path of a folder with one sub-folder per class", key="own_server_folder")
    if server_folder and st.button("Use this folder"):
        st.session_state[FOLDER_KEY], st.session_state[REPORT_KEY] = server_folder, []

folder = st.session_state.get(FOLDER_KEY)
if not folder:
    st.info("Upload images or a .zip of class folders (or name a server folder) to begin.")
    st.stop()

size_column, colour_column, latent_column, split_column, model_column = st.columns(5)
size = size_column.select_slider("Image size", SIZES, value=64, key="own_size")
colour = colour_column.radio("Colour", ["rgb", "grey"], format_func=str.upper, horizontal=True, key="own_colour")
latent = latent_column.select_slider("Latent size", [8, 16, 20, 30, 50, 64], value=30, key="own_latent")
test_fraction = split_column.slider("Unseen test share", 0.1, 0.5, 0.2, 0.05, key="own_split")
variational = model_column.radio("Model", ["conv-ae", "conv-vae"], horizontal=True, key="own_model") == "conv-vae"
try:
    config = preset_config("conv-vae" if variational else "conv-ae", dataset=f"folder:{folder}", image_size=size,
                           color=colour, latent=latent, test_fraction=test_fraction, epochs=50, batch_size=16)
    blocks = 3 if size <= 64 else 4 if size <= 128 else 5  # the last feature map is 4-8 pixels wide
    channels = (32, 64, 128, 256, 256)[:blocks]
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, hidden=channels))
    with st.spinner("Reading the images…"):
        data = load_dataset(config.data)
except AecoreError as exc:
    st.error(str(exc))
    st.stop()

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
    examples = data.train.x[data.train.y == label][:8].numpy()
    if len(examples):
        st.image(image_strip(examples, scale=1), caption=name, width=min(900, 110 * len(examples)))

epochs = st.number_input("Epochs", 1, 5000, 50, key="own_epochs")
snapshot = job.snapshot()
if st.button("Train on these images", type="primary", icon=":material/play_arrow:", disabled=snapshot.active):
    try:
        job.start(dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=int(epochs))))
    except AecoreError as exc:
        st.error(str(exc))


live_training(job, "own")

trained = job.trained()
if trained is None or trained[1].name != f"folder:{folder}":
    st.stop()
model, trained_data = trained
st.subheader("The codes of your images")
splits = [("train", trained_data.train), ("test", trained_data.test)]
x = np.concatenate([split.x.numpy() for _, split in splits])
labels = np.concatenate([split.y.numpy() for _, split in splits])
names = [f"{split_name}:{name}" for split_name, split in splits for name in (split.names or [""] * len(split))]
codes = encode_images(model, torch.from_numpy(x))
method = st.radio("Map", list(METHODS), format_func=METHODS.get, horizontal=True, key="own_map")
with st.spinner("Computing the map…"):
    points = project(codes, method, perplexity=min(30.0, max(2.0, (len(codes) - 1) / 3))).points
pick = read_pick(st.session_state.get("own_map_chart"), DATA_TRACE)
axes = (f"{METHODS[method]} 1", f"{METHODS[method]} 2")
st.plotly_chart(latent_map_figure(points, labels, trained_data.class_names, axis_labels=axes), key="own_map_chart",
                on_select="rerun", selection_mode=("points", "box", "lasso"), theme=None)
if pick.rows:
    st.image(image_strip(x[list(pick.rows[:40])], scale=1, columns=10), width="stretch",
             caption="the selected images")
st.download_button("Download codes and map as CSV", latent_csv_text(codes, labels, trained_data.class_names,
                   {method: points}, names), file_name="my-images-latent.csv", mime="text/csv",
                   icon=":material/download:")
with st.form("own_save", border=False):
    name_column, button_column = st.columns([4, 1], vertical_alignment="bottom")
    run_name = name_column.text_input("Save this run as", placeholder="e.g. my-faces")
    if button_column.form_submit_button("Save run", icon=":material/save:"):
        try:
            job.save(run_name)
            st.success(f"Saved: pick **{run_name.strip()}** on any page's model picker.")
        except AecoreError as exc:
            st.error(str(exc))
