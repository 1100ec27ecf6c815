"""One run's code activations, as the Inside page shows two runs side by side: a few inputs, their codes as
pictures, how active each unit is (against a KL sparsity target) and how many units are dead."""

from __future__ import annotations

import streamlit as st

from aecore.describe import sparsity_text
from aecore.diagnostics import activation_pictures, dead_units, mean_activations
from aecore.ui import cache
from aecore.ui.cache import RunRef
from aecore.ui.charts import activation_histogram
from aecore.ui.widgets import image_strip, show_picture

SAMPLE = 1000  # test images whose codes are summarised
SHOWN = 8  # inputs drawn with their codes


def activation_view(ref: RunRef, heading: str, first: int) -> None:
    """Under ``heading``: test images ``first`` .. ``first + SHOWN`` of the sample and their codes, then the
    histogram of mean unit activations and the count of dead units over the whole sample."""
    run, sample = ref.run(), cache.test_sample(ref, SAMPLE)
    objective, shown = run.config.objective, slice(first, first + SHOWN)
    st.markdown(f"**{heading}**: {run.config.preset}, latent {run.model.latent_dim}{sparsity_text(objective)}")
    show_picture(st, image_strip(cache.test_pixels(ref, sample.indices[shown]), scale=2), width="stretch",
                 caption="inputs")
    pictures = activation_pictures(sample.codes[shown])
    show_picture(st, image_strip(pictures, scale=max(2, 28 // pictures.shape[-1] * 2)), width="stretch",
                 caption=f"their codes as {pictures.shape[2]}x{pictures.shape[3]} images (bright = active)")
    rho = objective.sparsity_rho if objective.sparsity == "kl" else None
    st.plotly_chart(activation_histogram(mean_activations(sample.codes), rho, "How active is each unit?"),
                    theme=None, key=f"histogram_{heading}")
    st.metric("Dead units (never change)", f"{len(dead_units(sample.codes))} of {sample.codes.shape[1]}")
