"""Interpolate and generate: walk between two images, blend four corners, decode random codes."""

import numpy as np
import streamlit as st

from aecore.latent import bilinear_grid, interpolate, sample_codes
from aecore.ui import explorer as ex
from aecore.ui.charts import path_distance_figure
from aecore.ui.pad import drag_pad
from aecore.ui.widgets import image_strip

st.title("Interpolate and generate")
path, ref, run = ex.chosen_run()
codes, labels, indices = ex.encoded_test_sample(ref, 2000)
classes = sorted(set(labels.tolist()))
names = run.class_names or tuple(str(c) for c in classes)
variational = run.config.model.variational


def choose(column, title: str, default: int, key: str) -> np.ndarray:
    """A class and which image of it, or a test image number (also set from the Explore map): its code."""
    label = column.selectbox(title, classes, index=classes.index(default) if default in classes else 0,
                             format_func=lambda c: names[c] if c < len(names) else str(c), key=f"{key}_class")
    nth = column.number_input("which one", 0, 999, 0, key=f"{key}_nth")
    index = column.number_input("or test image #", 0, len(ref.dataset().test) - 1, value=None, key=f"{key}_index",
                                placeholder="a number, or pick one on Explore")
    if index is None:
        index = int(indices[ex.image_of_class(labels, label, nth)])
    column.image(image_strip(ex.test_pixels(ref, np.array([index])), scale=4), width=112, caption=f"test #{index}")
    return ex.test_codes(ref, [index])[0]


st.subheader("Between two images")
start_column, end_column, options_column = st.columns([1, 1, 2])
start_code, end_code = choose(start_column, "From", 7, "interp_a"), choose(end_column, "To", 1, "interp_b")
steps = options_column.slider("Steps", 3, 20, 10, key="interp_steps")
spherical = options_column.toggle("Spherical (slerp), for a VAE's Gaussian prior", value=variational,
                                  key="interp_slerp")
path_codes = interpolate(start_code, end_code, steps, spherical)
path_strip = image_strip(ex.decode_to_pixels(ref, path_codes), scale=3)
st.image(path_strip, width="stretch", caption="decoded along the path, start to end")
st.download_button("PNG of the path", ex.png_bytes(path_strip), file_name="interpolation.png", mime="image/png",
                   icon=":material/image:", key="download_path")


def set_alpha(uv: tuple[float, float]) -> None:
    st.session_state["interp_alpha"] = round(uv[0], 2)


@st.fragment
def blend() -> None:
    left, right = st.columns([1, 3])
    with right:
        st.markdown("**Drag the handle** from the start image (left) to the end image (right):")
        st.session_state.setdefault("interp_alpha", 0.5)  # set by the pad's callback too: no value= below
        drag_pad("mix_pad", (st.session_state["interp_alpha"], 0.5), width=560, height=56, on_drag=set_alpha)
        alpha = st.slider("Mix (the same, as a slider)", 0.0, 1.0, step=0.01, key="interp_alpha")
    code = interpolate(start_code, end_code, 101, spherical)[round(alpha * 100)][None]
    left.image(image_strip(ex.decode_to_pixels(ref, code), scale=6), width=170, caption=f"mix {alpha:.2f}")
    distances = ex.distances_to_data(ref, path_codes)
    typical = float(np.median(ex.distances_to_data(ref, codes[:200])))
    right.plotly_chart(path_distance_figure(distances, typical, alpha), theme=None, config={"displayModeBar": False})


blend()

st.subheader("Between four corners")
corner_columns = st.columns(5)
corner_codes = np.stack([choose(column, title, default, f"corner_{i}") for i, (column, title, default) in enumerate(
    zip(corner_columns[:4], ("Top left", "Top right", "Bottom left", "Bottom right"), (0, 1, 7, 9), strict=True))])
n = corner_columns[4].slider("Grid size", 3, 15, 10, key="corner_n")
grid_column, pad_column = st.columns([3, 2])
corner_grid = image_strip(ex.decode_to_pixels(ref, bilinear_grid(corner_codes, n)), scale=2, columns=n)
grid_column.image(corner_grid, width=560, caption="bilinear blend of the four codes (lecture 004)")
grid_column.download_button("PNG of the grid", ex.png_bytes(corner_grid), file_name="four-corners.png",
                            mime="image/png", icon=":material/image:", key="download_corners")


def set_corner_mix(uv: tuple[float, float]) -> None:
    st.session_state["corner_u"], st.session_state["corner_v"] = round(uv[0], 2), round(uv[1], 2)


@st.fragment
def corner_blend() -> None:
    st.markdown("**Drag inside the square** to blend the four corners:")
    for key in ("corner_u", "corner_v"):
        st.session_state.setdefault(key, 0.5)  # set by the pad's callback too: no value= below
    drag_pad("corner_pad", (st.session_state["corner_u"], st.session_state["corner_v"]), width=240, height=240,
             on_drag=set_corner_mix)
    u = st.slider("left → right", 0.0, 1.0, step=0.01, key="corner_u")
    v = st.slider("top → bottom", 0.0, 1.0, step=0.01, key="corner_v")
    top_left, top_right, bottom_left, bottom_right = corner_codes.astype(np.float64)
    code = (1 - v) * ((1 - u) * top_left + u * top_right) + v * ((1 - u) * bottom_left + u * bottom_right)
    st.image(image_strip(ex.decode_to_pixels(ref, code[None].astype(np.float32)), scale=6), width=170,
             caption=f"blend at ({u:.2f}, {v:.2f})")


with pad_column:
    corner_blend()

st.subheader("Generate")
count_column, noise_column, seed_column = st.columns(3)
count = count_column.slider("Images", 4, 32, 16, step=4, key="gen_count")
seed = seed_column.number_input("Seed (change it for new images)", 0, 10_000, 0, key="gen_seed")
if variational:
    generated = sample_codes(run.model.latent_dim, count, seed)
    caption = "codes drawn from the prior N(0, I): a VAE can generate"
else:
    noise = noise_column.slider("Noise around the 'From' image's code", 0.0, 3.0, 0.5, 0.1, key="gen_noise")
    generated = sample_codes(run.model.latent_dim, count, seed, around=start_code, noise=noise)
    caption = "the 'From' image's code plus Gaussian noise (lecture 001)"
generated_grid = image_strip(ex.decode_to_pixels(ref, generated), scale=3, columns=16)
st.image(generated_grid, width="stretch", caption=caption)
st.download_button("PNG of these images", ex.png_bytes(generated_grid), file_name="generated.png", mime="image/png",
                   icon=":material/image:", key="download_generated")
