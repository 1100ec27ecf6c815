"""Train: start, stop, resume and save a run, and watch it learn live."""

import streamlit as st

from aecore.data import expected_input_shape
from aecore.errors import AecoreError
from aecore.jobs.training_job import IDLE
from aecore.models import build_model
from aecore.ui.identity import my_job
from aecore.ui.live import live_training
from aecore.ui.sidebar import current_config, describe
from aecore.ui.widgets import run_label, save_run_form, selected_run

ERROR_KEY = "train_error"
job = my_job()
choice = current_config()
snapshot = job.snapshot()  # button callbacks have run: this is the job the page shows

st.title("Train")
if choice.config is None:
    st.error(choice.error)
elif snapshot.config != choice.config:  # else "This run" says it, and the charts keep their place when it ends
    st.markdown(f"Next run: {describe(choice.config)}")


def act(action, *args) -> None:
    """Run a job action from a button; keep its error message to show once."""
    try:
        action(*args)
    except AecoreError as exc:
        st.session_state[ERROR_KEY] = str(exc)


def start_new_run() -> None:
    shape = expected_input_shape(choice.config.data)
    if shape is not None:
        build_model(choice.config.model, shape)  # refuse an architecture that cannot take this data, now
    job.start(choice.config)


idle_with_model = not snapshot.active and snapshot.has_model
chosen = selected_run()
buttons = st.container(horizontal=True)  # one row that wraps: every label whole at 1024 px
buttons.button("Start new run", type="primary", icon=":material/play_arrow:", width="content",
               disabled=snapshot.active or choice.config is None, on_click=act, args=(start_new_run,),
               key="train_start")
buttons.button("Stop", icon=":material/stop:", width="content", disabled=not snapshot.active,
               on_click=act, args=(job.stop,), key="train_stop")
buttons.button("Resume", icon=":material/resume:", width="content", disabled=not idle_with_model,
               on_click=act, args=(job.resume,), key="train_resume",
               help="Continue the same model and optimiser: a stopped run to its target, a finished one "
                    "for as many epochs again")
buttons.button("Reset", icon=":material/restart_alt:", width="content",
               disabled=snapshot.active or snapshot.status == IDLE, on_click=act, args=(job.reset,), key="train_reset")
buttons.button("Load chosen run", icon=":material/upload:", width="content",
               disabled=snapshot.active or chosen is None, on_click=act, args=(job.load, chosen), key="train_load",
               help=f"Load {run_label(chosen)} (chosen on Home) to train it further" if chosen else None)
if snapshot.active and snapshot.watchers > 1:
    buttons.button("My own copy", icon=":material/call_split:", width="content", on_click=act, args=(job.own_copy,),
                   key="train_own_copy", help=f"This run is shared by the {snapshot.watchers} of you who started the "
                                            "same settings: train your own, with another seed")
if st.session_state.get(ERROR_KEY):
    st.error(st.session_state.pop(ERROR_KEY))


live_training(job, "train")

save_run_form(job, "train_save", label="Save as", placeholder="a name, e.g. my-denoising-ae",
              disabled=not idle_with_model)
