"""Draw a digit: what the model makes of it, how unusual it is, its neighbours and where it lands."""

import numpy as np
import streamlit as st
import torch

from aecore.drawing import ink_from_canvas, mnist_style
from aecore.latent import encode_images, nearest_neighbours
from aecore.projection import METHODS
from aecore.scoring import reconstruction_errors, unusualness
from aecore.ui import explorer as ex
from aecore.ui.charts import latent_map_figure
from aecore.ui.widgets import image_strip

st.title("Draw a digit")
path, ref, run = ex.chosen_run()
if tuple(run.model.input_shape) != (1, 28, 28):
    st.info("Drawing works with models of 28x28 grey images (MNIST or Fashion-MNIST): pick one above.")
    st.stop()

from streamlit_drawable_canvas import st_canvas  # noqa: E402  (a component: imported where it is drawn)

draw_column, result_column = st.columns([1, 2])
with draw_column:
    canvas = st_canvas(stroke_width=20, stroke_color="#FFFFFF", background_color="#000000", width=280, height=280,
                       drawing_mode="freedraw", key="digit_canvas", return_image_data=True)
    st.caption("Draw with the mouse or a finger; the bin icon clears the square.")
image = mnist_style(ink_from_canvas(canvas.image_data)) if canvas is not None and canvas.image_data is not None \
    else None
if image is None:
    result_column.info("Draw a digit on the black square: the model will reconstruct it and place it on the map.")
    st.stop()

data = ref.dataset()
x = data.normalizer.apply(torch.from_numpy(image)[None, None])  # (1, 1, 28, 28)
code = encode_images(run.model, x)
error = float(reconstruction_errors(run.model, x)[0])
score = unusualness(error, ex.test_errors(ref))
with result_column:
    seen, rebuilt, numbers = st.columns(3)
    seen.image(image_strip(ex.to_pixels(ref, x.numpy()), scale=6), caption="what the model sees (MNIST style)")
    rebuilt.image(image_strip(ex.decode_to_pixels(ref, code), scale=6), caption="its reconstruction")
    numbers.metric("Reconstruction error", f"{error:.4f}")
    numbers.metric("Unusual: worse than", f"{score:.0f} %",
                   help="The share of test images the model reconstructs better: high means 'not like its data'")
    numbers.caption("of the test digits' reconstructions")
    bank, bank_indices = ex.training_bank(ref)
    found, _ = nearest_neighbours(bank, code, 8)
    st.image(image_strip(ex.train_pixels(ref, bank_indices[found[0]]), scale=2), width="stretch",
             caption="its nearest training images in latent space")

modes = {"plane": "2-D codes"} if run.model.latent_dim == 2 else {"pca": METHODS["pca"]}
modes.update(umap=METHODS["umap"], tsne=METHODS["tsne"])
mode = st.radio("Where it lands", list(modes), format_func=modes.get, horizontal=True, key="draw_map")
codes, labels, _ = ex.encoded_test_sample(ref, 2000)
if mode == "plane":
    points, spot, note = codes, code[0], ""
else:
    projection = ex.map_projection(ref, 2000, mode, 30.0)
    points, spot, note = projection.points, projection.place(code)[0], projection.placement_note
axes = ("z0", "z1") if mode == "plane" else (f"{modes[mode]} 1", f"{modes[mode]} 2")
st.plotly_chart(latent_map_figure(np.asarray(points), labels, run.class_names, axis_labels=axes,
                                  marker=(float(spot[0]), float(spot[1]))), theme=None, key="draw_map_chart")
if note:
    st.caption(note)
