"""Autoencoder Lab: the page list and the shared sidebar; nothing else."""

import streamlit as st

from aecore.ui.sidebar import render_sidebar

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
]

st.set_page_config(page_title="Autoencoder Lab", page_icon=":material/blur_on:", layout="wide")
page = st.navigation(PAGES)
render_sidebar()
page.run()
