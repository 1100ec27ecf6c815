"""Interpolate and generate: walk between two images, blend four corners, decode random codes."""

import numpy as np
import streamlit as st

from aecore.latent import bilinear_grid, bilinear_point, interpolate, sample_codes
from aecore.ui import cache, page_state, state_widgets
from aecore.ui.charts import path_distance_figure
from aecore.ui.image_choice import choose_test_image
from aecore.ui.pad import pad_sliders
from aecore.ui.widgets import image_strip, png_picture, show_picture

st.title("Interpolate and generate")
ref = cache.chosen_run()
run, sample = ref.run(), cache.test_sample(ref, cache.DEFAULT_SAMPLE)
vae = run.config.model.variational

st.subheader("Between two images")
path_slot = st.container()  # the path above its ends and options: the picture comes first, on one screen
start_column, end_column, options_column = st.columns([1, 1, 2])
start_code = choose_test_image(start_column, ref, sample, page_state.INTERPOLATE_FROM)
end_code = choose_test_image(end_column, ref, sample, page_state.INTERPOLATE_TO)
steps = state_widgets.draw(options_column, page_state.INTERPOLATE_STEPS)
spherical = state_widgets.draw(options_column, page_state.INTERPOLATE_SLERP, default=vae)
path_codes = interpolate(start_code, end_code, steps, spherical)
png_picture(path_slot, image_strip(cache.decode_pixels(ref, path_codes), scale=3), width="stretch",
            caption="decoded along the path, start to end", download="PNG of the path", file_name="interpolation.png",
            key="download_path")


@st.fragment
def blend() -> None:
    left, right = st.columns([1, 3])
    with right:
        alpha, = pad_sliders("mix_pad", [page_state.INTERPOLATE_MIX], width=560, height=56,
                             instruction="**Drag the handle** from the start image (left) to the end image (right):")
    code = interpolate(start_code, end_code, 101, spherical)[round(alpha * 100)][None]
    show_picture(left, image_strip(cache.decode_pixels(ref, code), scale=6), width=170, caption=f"mix {alpha:.2f}")
    distances = cache.training_bank(ref).distance_to_nearest(path_codes)
    right.plotly_chart(path_distance_figure(distances, cache.typical_distance_to_data(ref), alpha), theme=None,
                       config={"displayModeBar": False}, key="interp_distance_chart")


blend()

st.subheader("Between four corners")
corner_columns = st.columns(5)
corner_codes = np.stack([choose_test_image(column, ref, sample, corner)
                         for column, corner in zip(corner_columns[:4], page_state.CORNERS, strict=True)])
n = state_widgets.draw(corner_columns[4], page_state.CORNER_GRID)
grid_column, pad_column = st.columns([3, 2])
png_picture(grid_column, image_strip(cache.decode_pixels(ref, bilinear_grid(corner_codes, n)), scale=2, columns=n),
            width="stretch", caption="bilinear blend of the four codes (lecture 004)", download="PNG of the grid",
            file_name="four-corners.png", key="download_corners")


@st.fragment
def corner_blend() -> None:
    u, v = pad_sliders("corner_pad", [page_state.CORNER_U, page_state.CORNER_V], width=240,
                       height=240, instruction="**Drag inside the square** to blend the four corners:")
    show_picture(st, image_strip(cache.decode_pixels(ref, bilinear_point(corner_codes, u, v)[None]), scale=6),
                 width=170, caption=f"blend at ({u:.2f}, {v:.2f})")


with pad_column:
    corner_blend()

st.subheader("Generate")
count_column, noise_column, seed_column = st.columns(3)
count = state_widgets.draw(count_column, page_state.GENERATE_COUNT)
seed = state_widgets.draw(seed_column, page_state.GENERATE_SEED)
around, noise, caption = None, 1.0, "codes drawn from the prior N(0, I): a VAE can generate"
if not vae:  # an autoencoder has no prior to sample: perturb a code instead
    around, caption = start_code, "the 'From' image's code plus Gaussian noise (lecture 001)"
    noise = state_widgets.draw(noise_column, page_state.GENERATE_NOISE)
generated = sample_codes(run.model.latent_dim, count, seed, around=around, noise=noise)
png_picture(st, image_strip(cache.decode_pixels(ref, generated), scale=3, columns=16), width="stretch", caption=caption,
            download="PNG of these images", file_name="generated.png", key="download_generated")
