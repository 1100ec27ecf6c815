"""Compare: two runs' latent maps side by side (AE vs VAE as in lecture 001, latent 2 vs 32, ...)."""

import numpy as np
import streamlit as st

from aecore.checkpoints import PRETRAINED_DIR
from aecore.projection import METHODS
from aecore.ui import explorer as ex
from aecore.ui.charts import latent_map_figure
from aecore.ui.loaders import available_runs
from aecore.ui.widgets import run_label

st.title("Compare two runs")
runs = available_runs()
if len(runs) < 2:
    st.info("Two runs are needed: train and save one on the Train page.")
    st.stop()
defaults = [PRETRAINED_DIR / "mnist-ae-latent2", PRETRAINED_DIR / "mnist-vae-latent2"]
modes = {"plane": "2-D codes or PCA", "tsne": METHODS["tsne"], "umap": METHODS["umap"]}
mode_column, cap_column = st.columns(2)
mode = mode_column.radio("Maps", list(modes), format_func=modes.get, horizontal=True, key="compare_mode")
cap = cap_column.slider("Test images per map", 500, 5000, 1500, step=500, key="compare_cap")

for side, default, column in zip(("left", "right"), defaults, st.columns(2), strict=True):
    with column:
        path = st.selectbox("Run", runs, index=runs.index(default) if default in runs else 0, format_func=run_label,
                            key=f"compare_{side}")
        ref = ex.RunRef.of(path)
        run = ref.run()
        codes, labels, _ = ex.encoded_test_sample(ref, cap)
        if mode == "plane":
            plane = ex.plane_for(codes, "pca" if codes.shape[1] > 2 else "dims")
            points, axes = plane.project(codes), (plane.label_u, plane.label_v)
        else:
            points, axes = ex.map_projection(ref, cap, mode, 30.0).points, (f"{modes[mode]} 1", f"{modes[mode]} 2")
        kind = "VAE" if run.config.model.variational else "AE"
        st.markdown(f"**{kind}**, latent {run.model.latent_dim}, on {run.config.data.name} · "
                    f"test MSE {float(np.mean(ex.test_errors(ref))):.4f}")
        st.plotly_chart(latent_map_figure(np.asarray(points), labels, run.class_names, axis_labels=axes),
                        theme=None, key=f"compare_map_{side}")
st.caption("A VAE's KL term pulls its codes towards N(0, I): a rounder, gap-free map that is safe to sample "
           "from; a plain autoencoder spreads its classes wherever reconstruction wants them.")
