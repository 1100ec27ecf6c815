"""Compare: two runs' latent maps side by side (AE vs VAE as in lecture 001, latent 2 vs 32, ...)."""

import numpy as np
import streamlit as st

from aecore.describe import model_name
from aecore.latent_map import map_modes
from aecore.ui import cache, page_state, state_widgets
from aecore.ui.charts import MapPanel, maps_side_by_side
from aecore.ui.hover import hover_images
from aecore.ui.widgets import comparable_runs, map_choice, run_label

st.title("Compare two runs")
runs = comparable_runs()  # shipped, saved, and class board runs opened here
if len(runs) < 2:
    st.info("Two runs are needed: train and save one on the Train page.")
    st.stop()
mode_column, cap_column = st.columns(2)
mode = map_choice(mode_column, map_modes(None), page_state.COMPARE_MODE)
cap = state_widgets.draw(cap_column, page_state.COMPARE_CAP)

paths = []
for side, column in zip(page_state.COMPARE_RUNS, st.columns(2), strict=True):
    path = state_widgets.draw(column, side, options=runs, default=side.default if side.default in runs else runs[0],
                              format_func=run_label, label_visibility="collapsed")  # the maps high: one screen
    paths.append(path)
panels, facts, shown = [], [], []
for path in paths:
    ref = cache.RunRef.of(path)
    run, the_map = ref.run(), cache.latent_map(ref, cap, mode)
    points = cache.map_points(ref, "test", cap)  # the rows the map shows: their classes and test-set indices
    shown.append((ref, points, run.class_names))
    panels.append(MapPanel(the_map.points, points.labels, run.class_names, run_label(path), the_map.axis_labels,
                           points.indices))
    facts.append(f"**{model_name(run.config.model)}**, latent {run.model.latent_dim}, on {run.config.data.name} · "
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
