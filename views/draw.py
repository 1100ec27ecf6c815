"""Draw a digit: what the model makes of it, how unusual it is, its neighbours and where it lands."""

import streamlit as st

from aecore.drawing import ink_from_canvas, mnist_style
from aecore.latent_map import map_modes
from aecore.ui import cache
from aecore.ui.charts import latent_map_figure
from aecore.ui.neighbours import neighbour_strip
from aecore.ui.page_state import DRAW_MAP
from aecore.ui.palette import BLACK, WHITE
from aecore.ui.widgets import image_strip, map_choice, show_picture

CANVAS_PX = 280  # the drawing square's side
st.title("Draw a digit")
ref = cache.chosen_run()
run = ref.run()
if tuple(run.model.input_shape) != (1, 28, 28):
    st.info("Drawing works with models of 28x28 grey images (MNIST or Fashion-MNIST): pick one above.")
    st.stop()

from streamlit_drawable_canvas import st_canvas  # noqa: E402  (a component: imported where it is drawn)

row = st.container(horizontal=True, wrap=False, gap="medium")
draw_column, result_column = row.container(width=CANVAS_PX + 2), row.container()  # the canvas whole, at any width
with draw_column:  # the caption above: the canvas's toolbar rises over it under the mouse, not over the picker
    st.caption("Draw with the mouse or a finger; hover the square for undo and the bin that clears it.")
    canvas = st_canvas(stroke_width=20, stroke_color=WHITE, background_color=BLACK, width=CANVAS_PX,
                       height=CANVAS_PX, drawing_mode="freedraw", key="digit_canvas", return_image_data=True)
image = mnist_style(ink_from_canvas(canvas.image_data)) if canvas is not None and canvas.image_data is not None \
    else None
if image is None:
    result_column.info("Draw a digit on the black square: the model will reconstruct it and place it on the map.")
    st.stop()

report = cache.report_on_image(ref, image)
with result_column:
    seen, rebuilt, numbers = st.columns(3)
    show_picture(seen, image_strip(report.seen, scale=6), caption="what the model sees (MNIST style)")
    show_picture(rebuilt, image_strip(report.reconstruction, scale=6), caption="its reconstruction")
    numbers.metric("Reconstruction error", f"{report.error:.4f}")
    numbers.metric("Worse than", f"{report.unusualness:.0f} %",
                   help="The share of test images the model reconstructs better: high means 'not like its data'")
    numbers.caption("of the test digits' reconstructions: high means unusual")
    neighbour_strip(ref, report.code, 8, caption="its nearest training images in latent space")

mode = map_choice(st, map_modes(run.model.latent_dim, methods=("umap", "tsne")), DRAW_MAP)
the_map = cache.latent_map(ref, cache.DEFAULT_SAMPLE, mode)
spot = the_map.place(report.code)[0]
st.plotly_chart(latent_map_figure(the_map.points, cache.test_sample(ref, cache.DEFAULT_SAMPLE).labels,
                                  run.class_names, axis_labels=the_map.axis_labels,
                                  marker=(float(spot[0]), float(spot[1])), marker_name="your digit"), theme=None,
                key="draw_map_chart")
if the_map.note:
    st.caption(the_map.note)
