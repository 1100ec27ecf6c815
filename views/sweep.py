"""Sweep: a live grid of runs over one or two settings, the same test digits reconstructed by each."""

import streamlit as st

from aecore.ui.page_state import SWEEP_DATASET, SWEEP_STOPPING
from aecore.ui.state_widgets import draw
from aecore.ui.sweep_view import draw_results, session_sweep, start, sweep_form

st.title("Sweep")
st.caption("Vary one or two settings over a few values: every combination trains, queued with the class's "
           "other runs, and the table, the heatmap, the reconstructions and the maps fill in as they do.")
holder = session_sweep()
sweep = holder.sweep
running = sweep is not None and not sweep.finished

results = st.container()  # above the form: the grid of runs is the page's picture, on the first screen
dataset = draw(st, SWEEP_DATASET)
spec = sweep_form(dataset)
stopping = draw(st, SWEEP_STOPPING)
start_column, stop_column = st.columns(2)
start_column.button("Start sweep", type="primary", icon=":material/play_arrow:", width="stretch", key="sweep_start",
                    disabled=running or spec is None, on_click=start,
                    args=(holder, spec, {"auto": None, "on": True, "off": False}[stopping]))
stop_column.button("Stop sweep", icon=":material/stop:", width="stretch", key="sweep_stop", disabled=not running,
                   on_click=lambda: holder.sweep.stop())


@st.fragment(run_every=1.5 if running else None)
def live() -> None:
    current = holder.sweep
    if current is None:
        st.info("Press **Start sweep** below: the results appear here as the runs train.")
        return
    draw_results(current)
    if st.session_state.get("sweep_was_running") and current.finished:
        st.session_state["sweep_was_running"] = False
        st.rerun()
    st.session_state["sweep_was_running"] = not current.finished


with results:
    live()
