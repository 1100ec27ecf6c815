"""Autoencoder Lab: the dashboard's entry point.

Until the dashboard pages land (issue 3), this is one page listing what the
engine offers: presets, datasets and the shipped pretrained runs.
"""

import streamlit as st

from aecore.checkpoints import PREVIEW_FILE, list_runs, read_run_config
from aecore.data import FOLDER_PREFIX, list_datasets
from aecore.errors import AecoreError
from aecore.presets import list_presets

st.set_page_config(page_title="Autoencoder Lab", layout="wide")
st.title("Autoencoder Lab")
st.write("Train the classic autoencoders live and explore their latent spaces. "
         "The dashboard pages are on their way; the engine below already trains every model of the lectures "
         "(`python -m aecore train --preset NAME`).")

st.header("Pretrained runs")
runs = list_runs()
if not runs:
    st.info("No runs yet. `make checkpoints` rebuilds the shipped ones; "
            "`python -m aecore train --preset ae` trains a new one.")
for path in runs:
    try:
        config, input_shape, _ = read_run_config(path)
    except AecoreError as exc:
        st.warning(f"{path.name}: {exc}")
        continue
    st.subheader(path.name)
    st.caption(f"preset {config.preset} · latent {config.model.latent_dim} · {config.data.name} · "
               "rows: train images, their reconstructions, test images, their reconstructions")
    if (path / PREVIEW_FILE).is_file():
        st.image(str(path / PREVIEW_FILE))

st.header("Presets")
st.table([{"preset": p.name, "what it is": p.summary} for p in list_presets()])

st.header("Datasets")
st.table([{"dataset": d.name, "what it is": d.description} for d in list_datasets()]
         + [{"dataset": FOLDER_PREFIX + "PATH", "what it is": "your labelled images: PATH/<class>/<image files>"}])
