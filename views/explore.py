"""Explore: the latent map of any run, up to every image; click anywhere to decode, see neighbours and selections."""

import streamlit as st

from aecore.latent import LatentPlane, gaussian_quantile_points, latent_csv_text
from aecore.latent_map import MAP_SPLITS, PLANE_MODES, SPLIT_NAMES, cell_centres, map_modes
from aecore.ui import cache, page_state, state_widgets
from aecore.ui.charts import latent_map_figure
from aecore.ui.hover import hover_images
from aecore.ui.map_view import map_now, points_choice, show_map, show_pick
from aecore.ui.presenter import presenting
from aecore.ui.widgets import image_strip, map_choice, map_pick, png_download, show_picture, two_dimensions

MAP_HEIGHT, PRESENTED_MAP_HEIGHT = 540, 470  # px: under the title and the picker, it ends above 768 px and 720 px
st.title("Explore the latent space")
ref = cache.chosen_run()
run = ref.run()
latent_dim = run.model.latent_dim
map_column, detail_column = st.columns([2, 1] if presenting() else [3, 2])  # the map; its controls, what a pick shows
mode = map_choice(detail_column, map_modes(latent_dim, dimensions=True), page_state.EXPLORE_MODE)
split, cap = points_choice(detail_column, ref, page_state.EXPLORE_SPLIT, page_state.EXPLORE_CAP)
dims, grid_n, perplexity = (0, 1), 0, 30
if mode == "dims":
    dims = two_dimensions(detail_column, latent_dim, page_state.EXPLORE_X, page_state.EXPLORE_Y)
if mode in PLANE_MODES:
    grid_n = state_widgets.draw(detail_column, page_state.EXPLORE_GRID)
elif mode == "tsne":
    perplexity = state_widgets.draw(detail_column, page_state.EXPLORE_PERPLEXITY)
by_split = split == "all" and state_widgets.draw(detail_column, page_state.EXPLORE_BY_SPLIT)
points, shown = cache.map_points(ref, split, cap), map_now(ref, cap, mode, dims, perplexity, split)
plane = shown.map.plane
background = cache.decoded_grid_png(ref, plane, cell_centres(shown.map.bounds, grid_n), grid_n) if grid_n else None
colours, colour_names = (points.splits, SPLIT_NAMES) if by_split else (points.labels, run.class_names)

pick = map_pick("explore_map", page_state.explore_pick_key(mode, split, cap))  # one pick per map (rows are its points)
how = "Click anywhere" if plane is not None else "Click a point"
solid = ", test ones outlined" if split == "all" and not by_split else ""
about_text = (f"{len(points):,} of {cache.map_image_count(ref, split):,} {MAP_SPLITS[split]}, coloured by "
              f"{'split' if by_split else 'class'}{solid}. Hover a point to see its image; {how.lower()}, "
              "or use the box and lasso tools.")


def draw(the_map):
    marker = tuple(the_map.points[pick.rows[0]]) if len(pick.rows) == 1 else pick.position  # moves with a layout
    return st.plotly_chart(latent_map_figure(
        the_map.points, colours, colour_names, axis_labels=the_map.axis_labels, background=background,
        bounds=the_map.bounds, click_grid=the_map.click_grid(), marker=marker, point_ids=points.indices,
        splits=None if by_split else points.splits, selectable=True, height=MAP_HEIGHT,
        presented_height=PRESENTED_MAP_HEIGHT, drawn_rows=the_map.drawn_rows),
        key="explore_map", on_select="rerun", selection_mode=("points", "box", "lasso"), theme=None)


with map_column:
    show_map(shown, draw, pick, "explore")
    hover_images(ref, points, run.class_names, "explore_map", "explore_hover")
    st.caption(about_text)  # under the map: the map starts on the first screen
    if plane is None:
        st.caption("t-SNE and UMAP cannot be inverted: click a point to see its image and neighbours; "
                   "choose a plane map to decode any spot.")
with detail_column:
    show_pick(ref, points, pick, plane, "explore", page_state.EXPLORE_NEIGHBOURS)

if len(pick.rows) > 1:
    st.subheader(f"{len(pick.rows)} selected images")
    show_picture(st, image_strip(cache.map_pixels(ref, points, pick.rows[:60]), 2, 20), width="stretch")

if run.config.model.variational and latent_dim == 2:
    with st.expander("The prior's manifold: a grid over Gaussian quantiles (lecture 003's 20x20 grid, for a VAE)"):
        n = state_widgets.draw(st, page_state.EXPLORE_PRIOR_GRID)
        grid = cache.decoded_grid_png(ref, LatentPlane.of_dimensions(points.codes), gaussian_quantile_points(n), n)
        show_picture(st, grid, width="stretch", caption="rows and columns at the 5 %…95 % quantiles of N(0, 1)")
        png_download(st, "PNG of this grid", grid, f"{ref.name}-prior-grid.png", "download_quantile_grid")

csv_column, png_column = st.columns(2)
csv_column.download_button("Download the map as CSV", lambda: latent_csv_text(  # written when clicked: 70,000 rows
    points.codes, points.labels, run.class_names, shown.map.projections), file_name=f"{ref.name}-latent.csv",
    mime="text/csv", icon=":material/download:", key="download_map_csv")
if background is not None:
    png_download(png_column, "Download the decoded grid as PNG", background, f"{ref.name}-manifold.png",
                 "download_manifold")
