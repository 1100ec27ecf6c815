"""Train: start, stop, resume and save a run, and watch it learn live."""

import streamlit as st

from aecore.data import expected_input_shape
from aecore.errors import AecoreError
from aecore.projection import pca_2d
from aecore.registry import build_model
from aecore.ui.charts import latent_figure, loss_figure
from aecore.ui.jobs import FAILED, FINISHED, STOPPED
from aecore.ui.loaders import session_job
from aecore.ui.sidebar import current_config, describe
from aecore.ui.widgets import format_eta, image_rows, run_label, selected_run

ERROR_KEY, WAS_ACTIVE_KEY = "train_error", "train_was_active"
job = session_job()
choice = current_config()

st.title("Train")
if choice.config is None:
    st.error(choice.error)
else:
    st.markdown(f"Next run: {describe(choice.config)}")


def act(action, *args) -> None:
    """Run a job action from a button; keep its error message for this rerun."""
    st.session_state[ERROR_KEY] = None
    try:
        action(*args)
    except AecoreError as exc:
        st.session_state[ERROR_KEY] = str(exc)


def start_new_run() -> None:
    config = choice.config
    shape = expected_input_shape(config.data)
    if shape is not None:
        build_model(config.model, shape)  # refuse an architecture that cannot take this data, before queueing
    job.start(config)


snapshot = job.snapshot()
start, stop, resume, reset, load = st.columns(5)
start.button("Start new run", type="primary", icon=":material/play_arrow:", width="stretch",
             disabled=snapshot.active or choice.config is None, on_click=act, args=(start_new_run,))
stop.button("Stop", icon=":material/stop:", width="stretch", disabled=not snapshot.active,
            on_click=act, args=(job.stop,))
resume.button("Resume", icon=":material/resume:", width="stretch",
              disabled=snapshot.active or not snapshot.has_model, on_click=act, args=(job.resume,),
              help="Continue the same model and optimiser: a stopped run to its target, a finished one "
                   "for as many epochs again")
reset.button("Reset", icon=":material/restart_alt:", width="stretch", disabled=not snapshot.has_model
             and snapshot.status not in (FAILED, STOPPED), on_click=act, args=(job.reset,))
chosen = selected_run()
load.button("Continue selected run", icon=":material/upload:", width="stretch",
            disabled=snapshot.active or chosen is None, on_click=act, args=(job.load, chosen),
            help=f"Load {run_label(chosen)} (chosen on Home) to train it further" if chosen else None)
if st.session_state.get(ERROR_KEY):
    st.error(st.session_state[ERROR_KEY])

@st.fragment(run_every=1.0 if snapshot.active else None)
def live_view() -> None:
    current = job.snapshot()
    if current.status == FAILED:
        st.error(current.message)
    elif current.status == FINISHED:
        st.success(current.message)
    elif current.message:
        st.info(current.message)
    if current.config is not None:
        st.caption(f"This run: {describe(current.config)}")
    if current.status != "idle" and current.epochs:
        epoch_in_progress = min(current.epoch + 1, current.epochs) if current.active else current.epoch
        text = f"Epoch {epoch_in_progress} of {current.epochs}"
        if current.active and current.steps_per_epoch:
            text += f" · step {current.batch} of {current.steps_per_epoch} · ETA {format_eta(current.eta_s)}"
        st.progress(current.progress if current.active else current.epoch / current.epochs, text=text)

    if current.history or current.step_losses:
        chart, latent = st.columns([3, 2])
        chart.plotly_chart(loss_figure(current.history, current.step_losses), theme=None,
                           config={"displayModeBar": False})
        preview = current.preview
        if preview is not None and preview.codes.size:
            two_d = preview.codes.shape[1] == 2
            points = preview.codes if two_d else pca_2d(preview.codes)
            title = "Latent space (2-D codes)" if two_d else f"Latent space (PCA of {preview.codes.shape[1]}-D codes)"
            latent.plotly_chart(latent_figure(points, preview.code_labels, current.class_names, title),
                                theme=None, config={"displayModeBar": False})
        if preview is not None:
            seen, unseen = st.columns(2)
            seen.image(image_rows(preview.train_inputs, preview.train_recons),
                       caption="Training images (top) and their reconstructions (bottom)", width="stretch")
            unseen.image(image_rows(preview.test_inputs, preview.test_recons),
                         caption="Unseen test images (top) and their reconstructions (bottom)", width="stretch")
    elif not current.active:
        st.caption("Press **Start new run**: the loss curves, the reconstructions and the latent map appear "
                   "here and move while it learns.")

    if st.session_state.get(WAS_ACTIVE_KEY) and not current.active:
        st.session_state[WAS_ACTIVE_KEY] = False
        st.rerun()  # the run ended: redraw the buttons and stop polling
    st.session_state[WAS_ACTIVE_KEY] = current.active


live_view()

with st.form("save_form", border=False):
    name_column, button_column = st.columns([4, 1], vertical_alignment="bottom")
    run_name = name_column.text_input("Save as", placeholder="a name, e.g. my-denoising-ae",
                                      disabled=snapshot.active or not snapshot.has_model)
    if button_column.form_submit_button("Save run", icon=":material/save:", width="stretch",
                                        disabled=snapshot.active or not snapshot.has_model):
        act(job.save, run_name)
        if st.session_state.get(ERROR_KEY):
            st.error(st.session_state.pop(ERROR_KEY))
        else:
            st.success(f"Saved: pick **{run_name.strip()}** on any page's model picker.")
