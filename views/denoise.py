"""Denoising lab: corrupt test images, see noisy -> denoised -> clean, and measure it in PSNR."""

import numpy as np
import streamlit as st

from aecore.describe import noise_name, training_noise_sentence
from aecore.ui import cache, page_state, state_widgets
from aecore.ui.charts import heatmap_figure, psnr_figure
from aecore.ui.widgets import image_rows

LEVELS = tuple(np.linspace(0.1, 1.0, 10).round(2))  # at 0 the "noisy" input is the original: infinite PSNR
MATRIX_LEVELS = (0.0, 0.25, 0.5, 0.75)

st.title("Denoising lab")
ref = cache.chosen_run()
run = ref.run()
kinds = page_state.DENOISE_KIND.offered
trained_with = run.config.objective
kind_column, level_column = st.columns(2)
kind = state_widgets.draw(kind_column, page_state.DENOISE_KIND, format_func=noise_name,
                          default=trained_with.noise if trained_with.noise in kinds else kinds[0])
level = state_widgets.draw(level_column, page_state.DENOISE_LEVEL)
st.caption(training_noise_sentence(trained_with))

example = cache.denoising(ref, kind, level)
st.image(image_rows(example.noisy, example.denoised, example.clean, scale=3), width="stretch",
         caption="rows: noisy input, what the model makes of it, the clean original")
noisy_column, denoised_column = st.columns(2)
noisy_column.metric("PSNR of the noisy input", f"{example.noisy_psnr:.1f} dB")
denoised_column.metric("PSNR after the model", f"{example.denoised_psnr:.1f} dB")
st.plotly_chart(psnr_figure(cache.psnr_by_noise_level(ref, ref, kind, LEVELS, 500), kind), theme=None,
                key="denoise_psnr_chart")

st.subheader("Train noise x test noise")
values, labels = cache.noise_matrix(ref, kind, MATRIX_LEVELS)
st.plotly_chart(heatmap_figure(values, labels, [f"{v:g}" for v in MATRIX_LEVELS],
                               f"PSNR after each {run.config.data.name} run, {noise_name(kind)} test noise"),
                theme=None, key="denoise_matrix_chart")
st.caption("Save runs trained with other noise factors (Train page) and they join this matrix.")
