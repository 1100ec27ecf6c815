"""Drawing a training job's snapshot: status, progress, loss curves, latent map, reconstructions."""

from __future__ import annotations

import streamlit as st

from aecore.jobs.training_job import FAILED, FINISHED, IDLE, JobSnapshot, TrainingJob
from aecore.projection import project
from aecore.ui.charts import latent_figure, loss_figure
from aecore.ui.sidebar import describe
from aecore.ui.widgets import format_eta, image_rows, show_picture

PLOTLY_CONFIG = {"displayModeBar": False}


def draw_status(current: JobSnapshot) -> None:
    """The run's settings, then one status line: a progress bar with epoch, step and ETA (and the job's message,
    the device say: on a projector every line costs the charts room), which stays when the run ends, with how it
    ended, so that the charts under it keep their place; a failure's message in red; before a run, its message."""
    if current.config is not None:
        st.caption(f"This run: {describe(current.config)}")
    if current.status == FAILED:
        st.error(current.message)
    elif current.status == IDLE or not current.epochs:
        if current.message:
            st.info(current.message)
    elif current.active:
        text = f"Epoch {min(current.epoch + 1, current.epochs)} of {current.epochs}"
        if current.steps_per_epoch:
            text += f" · step {current.batch} of {current.steps_per_epoch} · ETA {format_eta(current.eta_s)}"
        st.progress(current.progress, text=f"{current.message} · {text}" if current.message else text)
    else:
        text = f"Epoch {current.epoch} of {current.epochs}"
        message = current.message
        if current.status == FINISHED:
            message = f":green[:material/check_circle:] {message}"
        st.progress(min(1.0, current.epoch / current.epochs), text=f"{message} · {text}" if message else text)


def draw_learning(current: JobSnapshot, start: str = "Start new run") -> None:
    """Loss chart and latent map side by side, then seen and unseen images over their reconstructions; before a
    run, a hint to press the page's button labelled ``start``."""
    if not (current.history or current.step_losses):
        if not current.active:
            st.caption(f"Press **{start}**: the loss curves, the reconstructions and the latent map appear "
                       "here and move while it learns.")
        return
    chart, latent = st.columns([3, 2])
    chart.plotly_chart(loss_figure(current.history, current.step_losses), theme=None, config=PLOTLY_CONFIG)
    preview = current.preview
    if preview is None:
        return
    if preview.codes.size:
        dims = preview.codes.shape[1]
        points = project(preview.codes, "pca").points
        title = "Latent space (2-D codes)" if dims == 2 else f"Latent space (PCA of {dims}-D)"  # half a projector
        latent.plotly_chart(latent_figure(points, preview.code_labels, current.class_names, title),
                            theme=None, config=PLOTLY_CONFIG)
    seen, unseen = st.columns(2)
    show_picture(seen, image_rows(preview.train_inputs, preview.train_recons),
                 caption="Training images (top) and their reconstructions (bottom)", width="stretch")
    show_picture(unseen, image_rows(preview.test_inputs, preview.test_recons),
                 caption="Unseen test images (top) and their reconstructions (bottom)", width="stretch")


def live_training(job: TrainingJob, key: str, start: str = "Start new run") -> None:
    """Status and learning view of ``job``, redrawn every second while it trains (every few seconds while
    it waits for a slot); when the run ends, or starts training after waiting, the whole page reruns once, so
    its buttons and its polling match. ``key`` names this page's view; ``start`` is the label of its button that
    starts a run."""
    was_active = f"{key}_was_active"
    every = job.snapshot().poll_every_s

    @st.fragment(run_every=every)
    def view() -> None:
        current = job.snapshot()
        draw_status(current)
        draw_learning(current, start)
        ended = st.session_state.get(was_active) and not current.active
        st.session_state[was_active] = current.active
        if ended or (current.active and current.poll_every_s != every):  # a fragment's cadence is set when drawn
            st.rerun()

    view()
