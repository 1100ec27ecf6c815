"""Autoencoder Lab: the page list and the shared sidebar; nothing else."""

import streamlit as st

from aecore.ui.navigation import ICON, PAGES
from aecore.ui.sidebar import TRAINING_PAGES, render_sidebar
from aecore.ui.startup import import_page_modules, warm_up_pages_in_background

import_page_modules()  # before any background thread starts (serve.py did it already: then it costs nothing)
st.set_page_config(page_title="Autoencoder Lab", page_icon=ICON, layout="wide")  # a local file: works offline
pages = {spec.path: st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec.default) for spec in PAGES}
page = st.navigation(list(pages.values()))
render_sidebar(show_training_settings=any(page is pages[path] for path in TRAINING_PAGES))
warm_up_pages_in_background()  # its thread waits a few seconds, so the page drawn now goes first
page.run()
