"""Autoencoder Lab: the page list and the shared sidebar; the page's state kept in its URL; nothing else."""

from functools import partial

import streamlit as st

from aecore.ui import cache, denoising, follow, identity, links, page_state, presenter, share, tour_bar
from aecore.ui.navigation import ICON, by_section, streamlit_pages
from aecore.ui.run_timing import logged_duration
from aecore.ui.sidebar import render_sidebar
from aecore.ui.warm_up import wait_until_imported, warm_up_pages_in_background

identity.browser_key()  # first: a personal or teacher link's key leaves the URL before the link is read
links.start_session()  # a session's first run: the link's settings and ?present=1
# Before the navigation: set after it, the tab first shows the page's material icon, fetched from a font server
st.set_page_config(page_title="Autoencoder Lab", page_icon=ICON, layout="wide",  # a local icon: works offline
                   initial_sidebar_state=presenter.sidebar_state())
pages = streamlit_pages()
# every page in sight (a class needs no "View more"), in sections a student can fold away
page = st.navigation({section: [pages[spec] for spec in specs] for section, specs in by_section().items()},
                     expanded=True)
spec = next(spec for spec, candidate in pages.items() if candidate is page)
path = spec.path
if spec.draws_figures:
    wait_until_imported()  # no Plotly figure while another thread still imports pandas (aecore/ui/warm_up.py)
links.restore(path)  # a session's first run: the page's values in the link
follow.before_page(path)  # a student's page takes the teacher's view (and may switch to its page); the banner
presenter.apply_style()
settings = st.sidebar.container()  # the training settings under the menu, drawn last: a tour's step may set them
share.sidebar_tools(path, page.url_path)
tour_bar.draw(path)  # a lesson tour: its step's page, the sidebar's tours, the caption and Next/Back
render_sidebar(settings, show_training_settings=spec.training_settings)
with st.sidebar:
    identity.keep_key_in_browser()  # a reload, a closed tab or a sleeping laptop finds this browser's runs again
identity.personal_link_popover()
warm_up_pages_in_background(cache.warm_up_default_explore,  # it waits a few seconds: the page drawn now goes first
                            partial(denoising.warm_up_default_denoising, page_state.DENOISE_KIND.offered))
with links.kept_in_url(path), logged_duration(path), follow.around_page(path):
    page.run()
