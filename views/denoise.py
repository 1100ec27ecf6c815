"""Denoising lab: corrupt test images, see noisy -> denoised -> clean, and measure it in PSNR."""

import streamlit as st

from aecore.describe import noise_name, training_noise_sentence
from aecore.ui import cache, denoising, page_state, state_widgets
from aecore.ui.charts import heatmap_figure, psnr_figure
from aecore.ui.widgets import image_rows, show_picture

st.title("Denoising lab")
ref = cache.chosen_run()
run = ref.run()
kinds = page_state.DENOISE_KIND.offered
trained_with = run.config.objective
kind_column, level_column = st.columns(2)
kind = state_widgets.draw(kind_column, page_state.DENOISE_KIND, format_func=noise_name,
                          default=denoising.denoise_kind(ref, kinds))
level = state_widgets.draw(level_column, page_state.DENOISE_LEVEL)
st.caption(training_noise_sentence(trained_with))

example = cache.denoising(ref, kind, level)
show_picture(st, image_rows(example.noisy, example.denoised, example.clean, scale=3), width="stretch",
             caption="rows: noisy input, what the model makes of it, the clean original")
noisy_column, denoised_column = st.columns(2)
noisy_column.metric("PSNR of the noisy input", f"{example.noisy_psnr:.1f} dB")
denoised_column.metric("PSNR after the model", f"{example.denoised_psnr:.1f} dB")
st.plotly_chart(psnr_figure(cache.psnr_by_noise_level(ref, ref, kind, denoising.DENOISE_CURVE_LEVELS,
                                                       denoising.DENOISE_CURVE_IMAGES), kind), theme=None,
                key="denoise_psnr_chart")

st.subheader("Train noise x test noise")
values, labels = cache.noise_matrix(ref, kind, denoising.DENOISE_MATRIX_LEVELS)
st.plotly_chart(heatmap_figure(values, labels, [f"{v:g}" for v in denoising.DENOISE_MATRIX_LEVELS],
                               f"PSNR after each {run.config.data.name} run, {noise_name(kind)} test noise"),
                theme=None, key="denoise_matrix_chart")
st.caption("Save runs trained with other noise factors (Train page) and they join this matrix.")
