"""Explore: the latent map of any run; click anywhere to decode, see the manifold, neighbours and selections."""

import numpy as np
import streamlit as st

from aecore.latent import gaussian_quantile_points, latent_csv_text, nearest_neighbours
from aecore.projection import METHODS
from aecore.ui import explorer as ex
from aecore.ui.charts import DATA_TRACE, latent_map_figure
from aecore.ui.widgets import image_strip

st.title("Explore the latent space")
path, ref, run = ex.chosen_run()
latent_dim = run.model.latent_dim
modes = {"plane": "2-D codes" if latent_dim == 2 else "PCA plane"}
if latent_dim > 2:
    modes["dims"] = "two dimensions"
modes.update(tsne=METHODS["tsne"], umap=METHODS["umap"])
if latent_dim == 1:
    modes = {"tsne": METHODS["tsne"], "umap": METHODS["umap"]}
mode_column, cap_column, extra_column = st.columns(3)
mode = mode_column.radio("Map", list(modes), format_func=modes.get, horizontal=True, key="explore_mode")
cap = cap_column.slider("Test images on the map", 500, 10_000, 2000, step=500, key="explore_cap")
codes, labels, indices = ex.encoded_test_sample(ref, cap)

background = bounds = plane = None
if mode in ("plane", "dims"):
    dims = (0, 1)
    if mode == "dims":
        u, v = extra_column.columns(2)
        dims = (u.number_input("x: dimension", 0, latent_dim - 1, 0),
                v.number_input("y: dimension", 0, latent_dim - 1, 1))
        if dims[0] == dims[1]:
            st.error("Choose two different dimensions for the axes.")
            st.stop()
    plane = ex.plane_for(codes, "pca" if mode == "plane" and latent_dim > 2 else "dims", dims)
    points, axes = plane.project(codes), (plane.label_u, plane.label_v)
    bounds = ex.bounds_of(points)
    grid_n = extra_column.slider("Decoded grid under the map (0: off)", 0, 30, 15, key="explore_grid")
    if grid_n:
        background = ex.manifold_image(ref, plane, ex.cell_centres(bounds, grid_n), grid_n)
else:
    perplexity = extra_column.slider("Perplexity", 5, 50, 30, key="explore_perplexity") if mode == "tsne" else 30
    projection = ex.map_projection(ref, cap, mode, perplexity)
    points, axes = projection.points, (f"{modes[mode]} 1", f"{modes[mode]} 2")

pick_key = f"explore_pick_{mode}"  # the last pick on this kind of map; a redrawn figure resets Plotly's own
fresh = ex.read_pick(st.session_state.get("explore_map"), DATA_TRACE)
if fresh.position is not None or fresh.rows:
    st.session_state[pick_key] = fresh
pick = st.session_state.get(pick_key, ex.MapPick())
map_column, detail_column = st.columns([3, 2])
figure = latent_map_figure(points, labels, run.class_names, axis_labels=axes, background=background, bounds=bounds,
                           click_grid=ex.click_grid(bounds) if plane is not None else None, marker=pick.position,
                           point_ids=indices)
how = "Click anywhere" if plane is not None else "Click a point"
map_column.caption(f"{len(points)} test images, coloured by class. {how}, or use the box and lasso tools.")
map_column.plotly_chart(figure, key="explore_map", on_select="rerun", selection_mode=("points", "box", "lasso"),
                        theme=None)
if plane is None:
    map_column.caption("t-SNE and UMAP cannot be inverted: click a point to see its image and neighbours; "
                       "choose a plane map to decode any spot.")

with detail_column:
    query = None
    if pick.rows:  # a data point: show the image itself
        query = codes[list(pick.rows[:1])]
        picked = int(indices[pick.rows[0]])
        st.image(image_strip(ex.test_pixels(ref, np.array([picked])), scale=8), width=220,
                 caption=f"test image {picked}")
        start_button, end_button = st.columns(2)
        remember = st.session_state.__setitem__
        start_button.button("Interpolate from it", on_click=remember, args=("interp_a_index", picked),
                            help="Sets the start image on the Interpolate page")
        end_button.button("Interpolate to it", on_click=remember, args=("interp_b_index", picked),
                          help="Sets the end image on the Interpolate page")
    elif pick.position is not None and plane is not None:  # empty space: decode it
        query = plane.lift(np.array([pick.position]))
        decoded = ex.decode_plane_points(ref, plane, np.array([pick.position]))
        st.image(image_strip(decoded, scale=8), width=220,
                 caption=f"decoded at ({pick.position[0]:.2f}, {pick.position[1]:.2f})")
    else:
        st.info("Click anywhere on the map to decode that spot, or drag a box to select images." if plane is not None
                else "Click a point to see its image and neighbours, or drag a box to select images.")
    if query is not None:
        k = st.slider("Nearest training images", 1, 20, 8, key="explore_k")
        bank, bank_indices = ex.training_bank(ref)
        found, distances = nearest_neighbours(bank, query, k)
        st.image(image_strip(ex.train_pixels(ref, bank_indices[found[0]]), scale=3, columns=4), width="stretch",
                 caption="nearest first; latent distances " + ", ".join(f"{d:.2f}" for d in distances[0][:4]) + " …")

if len(pick.rows) > 1:
    st.subheader(f"{len(pick.rows)} selected images")
    st.image(image_strip(ex.test_pixels(ref, indices[list(pick.rows[:60])]), scale=2, columns=20), width="stretch")

if run.config.model.variational and latent_dim == 2:
    with st.expander("The prior's manifold: a grid over Gaussian quantiles (lecture 003's 20x20 grid, for a VAE)"):
        n = st.slider("Grid size", 5, 30, 20, key="explore_quantile_grid")
        quantile_grid = ex.manifold_image(ref, ex.plane_for(codes, "dims"), gaussian_quantile_points(n), n)
        st.image(quantile_grid, width="stretch", caption="rows and columns at the 5 %…95 % quantiles of N(0, 1)")
        st.download_button("PNG of this grid", ex.png_bytes(quantile_grid), file_name=f"{path.name}-prior-grid.png",
                           mime="image/png", icon=":material/image:", key="download_quantile_grid")

csv_column, png_column = st.columns(2)
# the z columns hold plane coordinates already; a projected map adds its own (pca_x, tsne_x, ...), as the CLI does
map_name = {"plane": "pca" if latent_dim > 2 else None, "dims": None}.get(mode, mode)
projections = {map_name: points} if map_name else {}
csv_column.download_button("Download the map as CSV", latent_csv_text(codes, labels, run.class_names, projections),
                           file_name=f"{path.name}-latent.csv", mime="text/csv", icon=":material/download:")
if background is not None:
    png_column.download_button("Download the decoded grid as PNG", ex.png_bytes(background),
                               file_name=f"{path.name}-manifold.png", mime="image/png", icon=":material/image:")
