"""Autoencoder Lab: the page list and the shared sidebar; nothing else."""

import streamlit as st

from aecore.ui.loaders import warm_up_in_background
from aecore.ui.navigation import PAGES
from aecore.ui.sidebar import render_sidebar

st.set_page_config(page_title="Autoencoder Lab", page_icon=":material/blur_on:", layout="wide")
warm_up_in_background()
render_sidebar()
page = st.navigation([st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec.default)
                      for spec in PAGES])
page.run()
