"""Lecture labs: every exercise of the lectures, one click each, with what to notice."""

import streamlit as st

from aecore.ui.lab_views import SHOW, in_page_order, lab_heading, named_by_link

st.title("Lecture labs")
if not named_by_link():  # a step's lab first, its pictures on the projector's first screen
    st.caption("Each lab is the lecture's exact set-up, trained ahead of time and shipped with the project "
               "(`make checkpoints` retrains them), and shows what the lecture asks to look at.")

for spec in in_page_order():
    if trained := lab_heading(spec):
        SHOW[spec.key](trained)
