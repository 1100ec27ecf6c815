"""Interpolate and generate: walk between two images, blend four corners, decode random codes."""

import numpy as np
import streamlit as st

from aecore.latent import bilinear_grid, interpolate, sample_codes
from aecore.ui import explorer as ex
from aecore.ui.charts import path_distance_figure
from aecore.ui.widgets import image_strip, run_picker

st.title("Interpolate and generate")
path = run_picker()
if path is None:
    st.stop()
ref = ex.RunRef.of(path)
run = ref.run()
codes, labels, indices = ex.encoded_test_sample(ref, 2000)
classes = sorted(set(labels.tolist()))
names = run.class_names or tuple(str(c) for c in classes)
variational = run.config.model.variational


def choose(column, title: str, default: int, key: str) -> int:
    """A class and which image of it: returns a row of the sample."""
    label = column.selectbox(title, classes, index=classes.index(default) if default in classes else 0,
                             format_func=lambda c: names[c] if c < len(names) else str(c), key=f"{key}_class")
    nth = column.number_input("which one", 0, 999, 0, key=f"{key}_nth")
    row = ex.image_of_class(labels, label, nth)
    column.image(image_strip(ex.test_pixels(ref, indices[[row]]), scale=4), width=112)
    return row


st.subheader("Between two images")
start_column, end_column, options_column = st.columns([1, 1, 2])
start, end = choose(start_column, "From", 7, "interp_a"), choose(end_column, "To", 1, "interp_b")
steps = options_column.slider("Steps", 3, 20, 10, key="interp_steps")
spherical = options_column.toggle("Spherical (slerp), for a VAE's Gaussian prior", value=variational,
                                  key="interp_slerp")
path_codes = interpolate(codes[start], codes[end], steps, spherical)
st.image(image_strip(ex.decode_to_pixels(ref, path_codes), scale=3), width="stretch",
         caption="decoded along the path, start to end")


@st.fragment
def blend() -> None:
    left, right = st.columns([1, 3])
    alpha = right.slider("Mix: drag from the start image (0) to the end image (1)", 0.0, 1.0, 0.5, 0.01,
                         key="interp_alpha")
    code = interpolate(codes[start], codes[end], 101, spherical)[round(alpha * 100)][None]
    left.image(image_strip(ex.decode_to_pixels(ref, code), scale=6), width=170, caption=f"mix {alpha:.2f}")
    distances = ex.distances_to_data(ref, path_codes)
    typical = float(np.median(ex.distances_to_data(ref, codes[:200])))
    right.plotly_chart(path_distance_figure(distances, typical, alpha), theme=None, config={"displayModeBar": False})


blend()

st.subheader("Between four corners")
corner_columns = st.columns(5)
corners = [choose(column, title, default, f"corner_{i}") for i, (column, title, default) in enumerate(zip(
    corner_columns[:4], ("Top left", "Top right", "Bottom left", "Bottom right"), (0, 1, 7, 9), strict=True))]
n = corner_columns[4].slider("Grid size", 3, 15, 10, key="corner_n")
grid = ex.decode_to_pixels(ref, bilinear_grid(codes[corners], n))
st.image(image_strip(grid, scale=2, columns=n), width=560, caption="bilinear blend of the four codes (lecture 004)")

st.subheader("Generate")
count_column, noise_column, seed_column = st.columns(3)
count = count_column.slider("Images", 4, 32, 16, step=4, key="gen_count")
seed = seed_column.number_input("Seed (change it for new images)", 0, 10_000, 0, key="gen_seed")
if variational:
    generated = sample_codes(run.model.latent_dim, count, seed)
    caption = "codes drawn from the prior N(0, I): a VAE can generate"
else:
    noise = noise_column.slider("Noise around the 'From' image's code", 0.0, 3.0, 0.5, 0.1, key="gen_noise")
    generated = sample_codes(run.model.latent_dim, count, seed, around=codes[start], noise=noise)
    caption = "the 'From' image's code plus Gaussian noise (lecture 001)"
st.image(image_strip(ex.decode_to_pixels(ref, generated), scale=3, columns=16), width="stretch", caption=caption)
