"""Explore: the latent map of any run; click anywhere to decode, see the manifold, neighbours and selections."""

import numpy as np
import streamlit as st

from aecore.latent import LatentPlane, gaussian_quantile_points, latent_csv_text
from aecore.latent_map import PLANE_MODES, cell_centres, map_modes
from aecore.ui import cache
from aecore.ui.charts import latent_map_figure
from aecore.ui.neighbours import neighbour_strip
from aecore.ui.widgets import image_strip, interpolation_buttons, map_choice, map_pick, png_download, two_dimensions

st.title("Explore the latent space")
ref = cache.chosen_run()
run = ref.run()
latent_dim = run.model.latent_dim
mode_column, cap_column, extra_column = st.columns(3)
mode = map_choice(mode_column, map_modes(latent_dim, dimensions=True), "explore_mode")
cap = cap_column.slider("Test images on the map", 500, 10_000, 2000, step=500, key="explore_cap")
dims, grid_n, perplexity = (0, 1), 0, 30
if mode == "dims":
    dims = two_dimensions(extra_column, latent_dim, "explore_dim")
if mode in PLANE_MODES:
    grid_n = extra_column.slider("Decoded grid under the map (0: off)", 0, 30, 15, key="explore_grid")
elif mode == "tsne":
    perplexity = extra_column.slider("Perplexity", 5, 50, 30, key="explore_perplexity")
sample, the_map = cache.test_sample(ref, cap), cache.latent_map(ref, cap, mode, dims, perplexity)
plane = the_map.plane
background = cache.decoded_grid(ref, plane, cell_centres(the_map.bounds, grid_n), grid_n) if grid_n else None

pick = map_pick("explore_map", f"explore_pick_{mode}")  # one pick per kind of map
map_column, detail_column = st.columns([3, 2])
how = "Click anywhere" if plane is not None else "Click a point"
map_column.caption(f"{len(the_map.points)} test images, coloured by class. {how}, or use the box and lasso tools.")
map_column.plotly_chart(latent_map_figure(
    the_map.points, sample.labels, run.class_names, axis_labels=the_map.axis_labels, background=background,
    bounds=the_map.bounds, click_grid=the_map.click_grid(), marker=pick.position, point_ids=sample.indices),
    key="explore_map", on_select="rerun", selection_mode=("points", "box", "lasso"), theme=None)
if plane is None:
    map_column.caption("t-SNE and UMAP cannot be inverted: click a point to see its image and neighbours; "
                       "choose a plane map to decode any spot.")

with detail_column:
    query = None
    if pick.rows:  # a data point: show the image itself
        query, picked = sample.codes[list(pick.rows[:1])], int(sample.indices[pick.rows[0]])
        st.image(image_strip(cache.test_pixels(ref, [picked]), scale=8), width=220, caption=f"test image {picked}")
        interpolation_buttons(picked, "explore_interpolate")
    elif pick.position is not None and plane is not None:  # empty space: decode it
        query = plane.lift(np.array([pick.position]))
        st.image(image_strip(cache.decode_pixels(ref, query), scale=8), width=220,
                 caption=f"decoded at ({pick.position[0]:.2f}, {pick.position[1]:.2f})")
    else:
        st.info("Click anywhere on the map to decode that spot, or drag a box to select images." if plane is not None
                else "Click a point to see its image and neighbours, or drag a box to select images.")
    if query is not None:
        neighbour_strip(ref, query, st.slider("Nearest training images", 1, 20, 8, key="explore_k"), scale=3,
                        columns=4)

if len(pick.rows) > 1:
    st.subheader(f"{len(pick.rows)} selected images")
    st.image(image_strip(cache.test_pixels(ref, sample.indices[list(pick.rows[:60])]), scale=2, columns=20),
             width="stretch")

if run.config.model.variational and latent_dim == 2:
    with st.expander("The prior's manifold: a grid over Gaussian quantiles (lecture 003's 20x20 grid, for a VAE)"):
        n = st.slider("Grid size", 5, 30, 20, key="explore_quantile_grid")
        prior_grid = cache.decoded_grid(ref, LatentPlane.of_dimensions(sample.codes), gaussian_quantile_points(n), n)
        st.image(prior_grid, width="stretch", caption="rows and columns at the 5 %…95 % quantiles of N(0, 1)")
        png_download(st, "PNG of this grid", prior_grid, f"{ref.name}-prior-grid.png", "download_quantile_grid")

csv_column, png_column = st.columns(2)
csv_column.download_button("Download the map as CSV", latent_csv_text(sample.codes, sample.labels, run.class_names,
                           the_map.projections), file_name=f"{ref.name}-latent.csv", mime="text/csv",
                           icon=":material/download:", key="download_map_csv")
if background is not None:
    png_download(png_column, "Download the decoded grid as PNG", background, f"{ref.name}-manifold.png",
                 "download_manifold")
