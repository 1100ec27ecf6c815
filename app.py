"""Autoencoder Lab: the page list and the shared sidebar; nothing else."""

import streamlit as st

from aecore.ui.navigation import PAGES
from aecore.ui.sidebar import render_sidebar
from aecore.ui.startup import warm_up_pages_in_background

st.set_page_config(page_title="Autoencoder Lab", page_icon=":material/blur_on:", layout="wide")
render_sidebar()
page = st.navigation([st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec.default)
                      for spec in PAGES])
page.run()
warm_up_pages_in_background()  # starts a few seconds after the page is drawn: no page waits on it
