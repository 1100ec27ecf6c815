"""Denoising lab: corrupt test images, see noisy -> denoised -> clean, and measure it in PSNR."""

import numpy as np
import streamlit as st

from aecore.config import NOISE_KINDS
from aecore.diagnostics import denoise, psnr
from aecore.ui import explorer as ex
from aecore.ui.charts import heatmap_figure, psnr_figure
from aecore.ui.loaders import available_runs
from aecore.ui.widgets import image_rows

st.title("Denoising lab")
path, ref, run = ex.chosen_run()
data = ref.dataset()
kinds = [kind for kind in NOISE_KINDS if kind != "none"]
kind_column, level_column = st.columns(2)
kind = kind_column.radio("Noise", kinds, horizontal=True, format_func=lambda k: k.replace("_", " "),
                         index=kinds.index(run.config.objective.noise) if run.config.objective.noise in kinds else 0,
                         key="denoise_kind")
level = level_column.slider("Noise level", 0.0, 1.0, 0.5, 0.05, key="denoise_level")
trained_with = run.config.objective
st.caption(f"This model was trained with {trained_with.noise.replace('_', ' ')} noise at {trained_with.noise_factor:g}"
           if trained_with.noise != "none" else "This model was trained on clean images (no denoising objective).")

clean = data.test.x[:10]
noisy, denoised = denoise(run.model, clean, kind, level, value_range=data.value_range)
pixels = [ex.to_pixels(ref, t.numpy()) for t in (noisy, denoised, clean)]
st.image(image_rows(*pixels, scale=3), width="stretch",
         caption="rows: noisy input, what the model makes of it, the clean original")
noisy_column, denoised_column = st.columns(2)
noisy_column.metric("PSNR of the noisy input", f"{psnr(pixels[2], pixels[0]):.1f} dB")
denoised_column.metric("PSNR after the model", f"{psnr(pixels[2], pixels[1]):.1f} dB")

levels = tuple(np.linspace(0.1, 1.0, 10).round(2))  # at 0 the "noisy" input is the original: infinite PSNR
st.plotly_chart(psnr_figure(ex.psnr_by_noise_level(ref, ref, kind, levels, 500), kind), theme=None)

st.subheader("Train noise x test noise")
same_data = [p for p in available_runs() if ex.RunRef.of(p).run().config.data.name == run.config.data.name
             and tuple(ex.RunRef.of(p).run().model.input_shape) == tuple(run.model.input_shape)]
test_levels = (0.0, 0.25, 0.5, 0.75)
rows, labels = [], []
for other in same_data:
    other_ref = ex.RunRef.of(other)
    objective = other_ref.run().config.objective
    rows.append([denoised_psnr for _, _, denoised_psnr in ex.psnr_by_noise_level(other_ref, ref, kind, test_levels,
                                                                                   300)])
    noise = f"{objective.noise.replace('_', ' ')} {objective.noise_factor:g}" if objective.noise != "none" else "clean"
    labels.append(f"{other.name} ({noise})")
st.plotly_chart(heatmap_figure(np.array(rows), labels, [f"{v:g}" for v in test_levels],
                               f"PSNR after each {run.config.data.name} run, {kind.replace('_', ' ')} test noise"),
                theme=None)
st.caption("Save runs trained with other noise factors (Train page) and they join this matrix.")
