"""Slow motion: train one batch at a time and see what each step does to the reconstructions, the latent map, the
batch's loss and each layer's gradient; step back through the last steps."""

import streamlit as st

from aecore.slow_motion import KEEP
from aecore.ui.sidebar import describe
from aecore.ui.slow_motion_view import engine, stepper, tools

st.title("Slow motion")
motion = engine()
if motion is not None:
    st.caption(f"{describe(motion.config)} · a step trains on one batch; the last {KEEP} steps are kept",
               help="The sidebar's training settings make the model; changing them starts a fresh one.")
    stepper(motion)
    tools(motion)
