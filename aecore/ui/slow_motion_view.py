"""The Slow motion page's pieces: the session's :class:`~aecore.slow_motion.SlowMotion`, its controls and the
view of one snapshot (reconstructions, latent map, batch loss, gradient norm per layer).

The engine lives in session state (:data:`ENGINE_KEY`), built from the sidebar's
training settings (a preset or any of them) and built again when they change. Stepping and looking back
happen in one fragment, so a click redraws only the view; playing reruns that
fragment at the pace :data:`aecore.slow_motion.PACER` allows (the chosen rate, slower
when many sessions play) and takes a step each time, and pauses by itself after
:data:`PLAY_LIMIT` steps so that a forgotten tab stops training. The charts are
Vega-Lite, not Plotly: a Plotly map of 500 points took 70 ms to build, this one a few.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import streamlit as st

from aecore.describe import counted
from aecore.errors import AecoreError
from aecore.latent import class_name
from aecore.slow_motion import PACER, RATES, SlowMotion, Snapshot, map_bounds
from aecore.ui import palette, presenter, state_widgets
from aecore.ui.page_state import SLOW_MOTION_RATE
from aecore.ui.palette import LAYER_PART_COLORS, class_color
from aecore.ui.shared_resources import shared_dataset
from aecore.ui.sidebar import current_config
from aecore.ui.widgets import image_rows, show_picture

ENGINE_KEY = "slowmo_engine"  # session key: this session's SlowMotion
RATE_KEY = SLOW_MOTION_RATE.key  # steps a second while playing
PLAYING_KEY = "slowmo_playing"  # session key: whether it plays
PLAYED_KEY = "slowmo_played"  # session key: steps taken since Play was pressed
SHOWN_KEY = "slowmo_shown"  # session key: the step shown, None for the latest
VIEW_KEY = "slowmo_view_step"  # select_slider over the kept steps
ERROR_KEY = "slowmo_error"  # session key: a message to show once
PLAY_LIMIT = 200  # steps per press of Play
CHART_HEIGHT = 360


def engine() -> SlowMotion | None:
    """This session's SlowMotion for the sidebar's settings: built on the first visit, after Reset and when the
    settings change; None (with the reason shown) when they make no run."""
    choice = current_config()
    motion = st.session_state.get(ENGINE_KEY)
    if choice.config is None:
        st.error(f"Cannot start slow motion with these settings: {choice.error}")
        return None
    if motion is None or motion.config != choice.config:
        _pause()
        st.session_state[SHOWN_KEY] = None
        try:
            with st.spinner("Building the model…"):
                motion = SlowMotion(choice.config, shared_dataset(choice.config.data))
        except (AecoreError, ValueError) as exc:
            st.error(f"Cannot start slow motion with these settings: {exc}")
            return None
        st.session_state[ENGINE_KEY] = motion
    if st.session_state.get(ERROR_KEY):
        st.error(st.session_state.pop(ERROR_KEY))
    return motion


def reset() -> None:
    """Drop the model: the next run builds a fresh one from the sidebar's settings."""
    _pause()
    st.session_state.update({ENGINE_KEY: None, SHOWN_KEY: None})


def tools(motion: SlowMotion) -> None:
    """Reset and Refit map, under the view."""
    reset_, refit, _ = st.columns([1, 1, 4])
    reset_.button("Reset", key="slowmo_reset", width="stretch", icon=":material/restart_alt:", on_click=reset,
                  help="A fresh, untrained model from the sidebar's settings")
    refit.button("Refit map", key="slowmo_refit", width="stretch", on_click=motion.refit_map,
                 disabled=motion.model.latent_dim <= 2, help="Fit the PCA plane of the map again, on the codes of "
                 "now (it is fitted once, so that the points move rather than the axes)")


def _toggle_play() -> None:
    playing = not st.session_state.get(PLAYING_KEY, False)
    st.session_state.update({PLAYING_KEY: playing, PLAYED_KEY: 0, SHOWN_KEY: None})
    if not playing:
        PACER.leave(st.session_state.get(ENGINE_KEY))


def _pause() -> None:
    st.session_state[PLAYING_KEY] = False
    PACER.leave(st.session_state.get(ENGINE_KEY))


def _step(motion: SlowMotion) -> None:
    try:
        motion.step()
    except AecoreError as exc:
        st.session_state[ERROR_KEY] = str(exc)
        _pause()
    st.session_state[SHOWN_KEY] = None


def _show(step: int | None) -> None:
    st.session_state[SHOWN_KEY] = step


def _pick_from_slider(motion: SlowMotion) -> None:
    step = st.session_state[VIEW_KEY]
    _show(None if step == motion.latest.step else step)


def stepper(motion: SlowMotion) -> None:
    """Step, Play and its rate, Back, Next and the kept steps, then the shown snapshot. Playing reruns this
    fragment at the pace the server allows; Play and the rate rerun the page, which sets that pace."""
    playing = st.session_state.get(PLAYING_KEY, False)
    state_widgets.prepare(SLOW_MOTION_RATE, options=RATES)  # the default, or a link's value if offered
    rate = float(st.session_state[RATE_KEY])
    every = PACER.interval(motion, rate) if playing else None

    @st.fragment(run_every=every)
    def view() -> None:
        if (st.session_state.get(PLAYING_KEY, False), st.session_state[RATE_KEY]) != (playing, rate):
            st.rerun(scope="app")  # Play, Pause or a new rate: the page's run sets the fragment's timer
        if playing:
            _play(motion, rate, every)
        kept = [snapshot.step for snapshot in motion.snapshots]
        shown = st.session_state.get(SHOWN_KEY)
        index = kept.index(shown if shown in kept else kept[-1])
        last = len(kept) - 1
        step, play, speed, back, forward, slider = st.columns([1.5, 1.5, 1.2, 1.2, 1.2, 3.0],
                                                              vertical_alignment="bottom")
        step.button("Step", key="slowmo_step", type="primary", width="stretch", icon=":material/skip_next:",
                    disabled=playing, on_click=_step, args=(motion,), help="Train on one more batch")
        play.button("Pause" if playing else "Play", key="slowmo_play", width="stretch", on_click=_toggle_play,
                    icon=":material/pause:" if playing else ":material/play_arrow:",
                    help=f"Step on its own at the rate beside; pauses after {PLAY_LIMIT} steps")
        state_widgets.draw(speed, SLOW_MOTION_RATE, format_func=lambda r: f"{r:g}",
                           help="Steps a second while playing (slower when many sessions play at once)")
        back.button("Back", key="slowmo_back", width="stretch", disabled=playing or index == 0, on_click=_show,
                    args=(kept[max(index - 1, 0)],), help="The step before")
        forward.button("Next", key="slowmo_forward", width="stretch", disabled=playing or index == last,
                       on_click=_show, args=(kept[min(index + 1, last)],), help="The step after")
        if len(kept) > 1:
            if st.session_state.get(VIEW_KEY) != kept[index]:
                st.session_state[VIEW_KEY] = kept[index]
            slider.select_slider(f"Look back over the last {len(kept)} steps", kept, key=VIEW_KEY,
                                 disabled=playing, on_change=_pick_from_slider, args=(motion,))
        draw_snapshot(motion, index)

    view()


def _play(motion: SlowMotion, rate: float, every: float) -> None:
    """One fragment run while playing: a step when one is due; pause after PLAY_LIMIT steps or an error, and
    rerun the page when the server's pace changed (the fragment's timer is set by the page's run)."""
    pace = PACER.interval(motion, rate)
    if time.monotonic() - motion.last_step_at >= 0.9 * pace:
        _step(motion)
        st.session_state[PLAYED_KEY] = st.session_state.get(PLAYED_KEY, 0) + 1
    if st.session_state.get(PLAYED_KEY, 0) >= PLAY_LIMIT:
        _pause()
    if not st.session_state.get(PLAYING_KEY) or not 0.8 < pace / every < 1.25:
        st.rerun(scope="app")
    if pace > 1.0 / rate:
        st.caption(f"{PACER.players} sessions play on this server: each steps every {pace:.1f} s.")


def draw_snapshot(motion: SlowMotion, index: int) -> None:
    """Which step is shown, then the reconstructions with the batch loss, the latent map and the gradients."""
    snapshot = motion.snapshots[index]
    behind = motion.latest.step - snapshot.step
    where = "the latest" if behind == 0 else f"**{counted(behind, 'step')} back** from the latest"
    batch = (f"epoch {snapshot.epoch}, batch {snapshot.batch} of {motion.steps_per_epoch}" if snapshot.step
             else "the untrained model")
    st.markdown(f"##### Showing step {snapshot.step} ({where}) · {batch}")
    height = presenter.chart_height(CHART_HEIGHT) - (70 if presenter.presenting() else 0)
    pictures, latent, gradients = st.columns([1.2, 1.2, 1])
    with pictures:
        show_picture(st, image_rows(motion.images, snapshot.recons, scale=3), width="stretch",
                     caption="Test images (top) and their reconstructions")
        _loss(motion, snapshot, index)
    data, spec = map_chart(motion, snapshot, height)
    latent.vega_lite_chart(data, spec, key="slowmo_map", width="stretch")
    data, spec = gradient_chart(motion, snapshot, height)
    gradients.vega_lite_chart(data, spec, key="slowmo_gradients", width="stretch")


def _loss(motion: SlowMotion, snapshot: Snapshot, index: int) -> None:
    if not snapshot.losses:
        st.metric("Batch loss", "—", help="Press Step: the loss of the batch it trains on shows here")
        return
    earlier = motion.snapshots[index - 1].losses if index > 0 else {}
    delta = snapshot.losses["total"] - earlier["total"] if earlier else None
    parts = " · ".join(f"{name} {value:.4g}" for name, value in snapshot.losses.items() if name != "total")
    st.metric("Batch loss (before this step)", f"{snapshot.losses['total']:.4g}", delta_color="inverse",
              delta=None if delta is None else f"{delta:+.3g} on the batch before", help=parts or None)
    losses = [(s.step, s.losses["total"]) for s in motion.snapshots if s.losses]
    data = pd.DataFrame(losses, columns=["step", "batch loss"]).assign(shown=lambda d: d["step"] == snapshot.step)
    spec = {"height": 90 if presenter.presenting() else 120, "config": _text_config(), "layer": [
        {"mark": {"type": "line", "color": palette.MID_GREY}, "encoding": {
            "x": {"field": "step", "type": "quantitative", "axis": {"tickMinStep": 1}},
            "y": {"field": "batch loss", "type": "quantitative", "scale": {"zero": False}}}},
        {"transform": [{"filter": "datum.shown"}], "mark": {"type": "point", "filled": True, "size": 90,
                                                           "color": palette.ROSE},
         "encoding": {"x": {"field": "step", "type": "quantitative"},
                      "y": {"field": "batch loss", "type": "quantitative"}}}]}
    st.vega_lite_chart(data, spec, key="slowmo_losses", width="stretch")


def _text_config() -> dict:
    scale = presenter.type_scale()
    size = math.ceil(13 * scale)
    legend = {"labelFontSize": size} | ({"columns": 2} if presenter.presenting() else {})  # 10 classes fit 720 px
    return {"axis": {"labelFontSize": size, "titleFontSize": size}, "legend": legend,
            "title": {"fontSize": math.ceil(16 * scale), "anchor": "start"}}


def map_chart(motion: SlowMotion, snapshot: Snapshot, height: int) -> tuple[pd.DataFrame, dict]:
    """The latent map of the shown step as Vega-Lite data and spec: axes fixed over the kept steps on its plane."""
    labels = motion.map_labels
    names = [class_name(motion.dataset.class_names, label) for label in np.unique(labels)]
    data = pd.DataFrame({"x": snapshot.points[:, 0], "y": snapshot.points[:, 1],
                         "class": [class_name(motion.dataset.class_names, label) for label in labels]})
    x0, x1, y0, y1 = map_bounds([s for s in motion.snapshots if s.map_fitted_at == snapshot.map_fitted_at])
    dims = motion.model.latent_dim
    title = ("Latent map (2-D codes)" if dims == 2 else "Latent map (1-D code by class)" if dims == 1
             else f"Latent map (PCA of {dims}-D codes)")
    u, v = motion.axis_labels
    if snapshot.map_fitted_at:
        u = f"{u} (plane refitted at step {snapshot.map_fitted_at})"
    spec = {"title": title, "height": height, "config": _text_config(),
            "mark": {"type": "circle", "size": 28, "opacity": 0.85, "clip": True},
            "encoding": {
                "x": {"field": "x", "type": "quantitative", "title": u, "scale": {"domain": [x0, x1], "nice": False}},
                "y": {"field": "y", "type": "quantitative", "title": v, "scale": {"domain": [y0, y1], "nice": False}},
                "color": {"field": "class", "type": "nominal", "title": None, "scale": {
                    "domain": names, "range": [class_color(label) for label in np.unique(labels)]}},
                "tooltip": [{"field": "class"}]}}
    return data, spec


def gradient_chart(motion: SlowMotion, snapshot: Snapshot, height: int) -> tuple[pd.DataFrame, dict]:
    """Each layer's gradient norm as horizontal bars, first layer on top, on a log axis fixed over the kept steps."""
    norms = snapshot.gradient_norms if len(snapshot.gradient_norms) else np.full(len(motion.layer_names), np.nan)
    data = pd.DataFrame({"layer": motion.layer_names, "norm": norms,
                         "part": [name.split(" ")[0] for name in motion.layer_names]})
    kept = np.concatenate([s.gradient_norms for s in motion.snapshots])
    kept = kept[np.isfinite(kept) & (kept > 0)]
    domain = [float(kept.min()) / 2, float(kept.max()) * 2] if len(kept) else [1e-4, 1.0]
    title = "Gradient norm per layer" if len(snapshot.gradient_norms) else "Gradient norm per layer (from step 1)"
    spec = {"title": title, "height": height, "config": _text_config(),
            "mark": {"type": "bar", "clip": True},
            "encoding": {
                "y": {"field": "layer", "type": "nominal", "sort": None, "title": None},
                "x": {"field": "norm", "type": "quantitative", "title": "‖gradient‖ on the batch",
                      "scale": {"type": "log", "domain": domain}},
                "x2": {"datum": domain[0]},  # log axis: bars start at its left end, not at 0
                "color": {"field": "part", "type": "nominal", "legend": None, "scale": {
                    "domain": list(LAYER_PART_COLORS), "range": list(LAYER_PART_COLORS.values())}},
                "tooltip": [{"field": "layer"}, {"field": "norm", "format": ".3g"}]}}
    return data, spec
