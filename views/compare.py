"""Compare: two runs' latent maps side by side (AE vs VAE as in lecture 001, latent 2 vs 32, ...)."""

import numpy as np
import streamlit as st

from aecore.checkpoints import PRETRAINED_DIR
from aecore.describe import model_kind
from aecore.latent_map import map_modes
from aecore.ui import cache
from aecore.ui.charts import MapPanel, maps_side_by_side
from aecore.ui.hover import hover_images
from aecore.ui.widgets import comparable_runs, map_choice, run_label

st.title("Compare two runs")
runs = comparable_runs()  # shipped, saved, and class board runs opened here
if len(runs) < 2:
    st.info("Two runs are needed: train and save one on the Train page.")
    st.stop()
defaults = [PRETRAINED_DIR / "mnist-ae-latent2", PRETRAINED_DIR / "mnist-vae-latent2"]
mode_column, cap_column = st.columns(2)
mode = map_choice(mode_column, map_modes(None), "compare_mode", label="Maps")
cap = cap_column.slider("Test images per map", 500, 5000, 1500, step=500, key="compare_cap")

paths = []
for side, default, column in zip(("left", "right"), defaults, st.columns(2), strict=True):
    path = column.selectbox("Run", runs, index=runs.index(default) if default in runs else 0, format_func=run_label,
                            key=f"compare_{side}", label_visibility="collapsed")  # the maps high: one screen
    paths.append(path)
panels, facts, shown = [], [], []
for path in paths:
    ref = cache.RunRef.of(path)
    run, the_map = ref.run(), cache.latent_map(ref, cap, mode)
    points = cache.map_points(ref, "test", cap)  # the rows the map shows: their classes and test-set indices
    shown.append((ref, points, run.class_names))
    panels.append(MapPanel(the_map.points, points.labels, run.class_names, run_label(path), the_map.axis_labels,
                           points.indices))
    facts.append(f"**{model_kind(run.config.model)}**, latent {run.model.latent_dim}, on {run.config.data.name} · "
                 f"test MSE {float(np.mean(cache.test_errors(ref))):.4f}")
# one figure, two subplots: one set of WebGL canvases for both maps, however many points they hold
st.plotly_chart(maps_side_by_side(panels), theme=None, key="compare_maps")
for trace, (ref, points, class_names) in enumerate(shown):  # hovering a point shows its image; trace i: panel i
    hover_images(ref, points, class_names, "compare_maps", f"compare_hover_{trace}", trace=trace)
for text, column in zip(facts, st.columns(2), strict=True):  # under the maps: they fit a projector's screen
    column.markdown(text)
st.caption("A VAE's KL term pulls its codes towards N(0, I): a rounder, gap-free map that is safe to sample "
           "from; a plain autoencoder spreads its classes wherever reconstruction wants them. Hover a point to see "
           "its image.")
