"""The Sweep page's pieces: the grid form, the session's sweep, and its live results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from aecore.describe import counted
from aecore.errors import AecoreError
from aecore.jobs import shared_pool
from aecore.projection import project
from aecore.settings import get_setting
from aecore.sweep import DONE, PRUNED, Sweep, SweepSpec, estimated_seconds, results_table, sweep_in
from aecore.ui import navigation, palette, state_widgets
from aecore.ui.charts import FONT, scatter_type
from aecore.ui.composite_state import (
    CLASS_SUBSETS_EXAMPLE,
    DEFAULT_AXES,
    NOTHING,
    SELECTED_RUN,
    SWEEP_AXES,
    VARIABLE,
    default_values,
    sweep_values_key,
)
from aecore.ui.page_state import SWEEP_EPOCHS, SWEEP_PRESET
from aecore.ui.widgets import format_eta, image_strip, show_picture

OPENS = (navigation.EXPLORE, navigation.INSIDE, navigation.COMPARE)  # the pages a saved run of the sweep opens in


class SweepHolder:
    """This session's sweep (None before the first Start); its runs stop when the session ends."""

    sweep: Sweep | None = None


def _stop_sweep(holder: SweepHolder) -> None:
    if holder.sweep is not None and not holder.sweep.finished:
        holder.sweep.stop()


@st.cache_resource(scope="session", on_release=_stop_sweep)
def session_sweep() -> SweepHolder:
    """The holder of this browser session's sweep."""
    return SweepHolder()


def sweep_form(dataset: str) -> SweepSpec | None:
    """Preset, one or two settings with their values, and epochs; the spec, or None with the reason shown."""
    top = st.columns([2, 1, 1])
    preset = state_widgets.draw(top[0], SWEEP_PRESET)
    epochs = state_widgets.draw(top[1], SWEEP_EPOCHS)
    axes = {}
    for i, (column, key, (first, _)) in enumerate(zip(st.columns(2), SWEEP_AXES, DEFAULT_AXES, strict=True)):
        options = [NOTHING, *(n for n in VARIABLE if n not in axes)] if i else list(VARIABLE)  # a setting varies once
        state = st.session_state
        if state.get(key, first) not in options:  # the second axis's default, or a setting the first one took
            state[key] = options[0]
        state.setdefault(key, first)  # the value lives in session state: links and tours write it too
        name = column.selectbox(f"Vary ({i + 1})", options, key=key, persist_state="session",
                                format_func=lambda n: get_setting(n).label if n in VARIABLE else n)
        if name in VARIABLE:
            state.setdefault(sweep_values_key(name), default_values(name))
            axes[name] = column.text_input(f"{get_setting(name).label}: values", key=sweep_values_key(name),
                                           persist_state="session",
                                           help=f"comma-separated, e.g. 2,8,32 (subsets: {CLASS_SUBSETS_EXAMPLE})")
    try:
        spec = SweepSpec.parse(preset, axes, int(epochs), dataset=dataset, device="auto")
    except AecoreError as exc:
        st.error(str(exc))
        return None
    runs = len(spec.combinations())
    top[2].metric("Runs", runs, help=f"about {format_eta(estimated_seconds(spec))} on this machine's CPUs")
    st.caption(f"{counted(runs, 'run')} × {counted(spec.epochs, 'epoch')} on {dataset}: about "
               f"{format_eta(estimated_seconds(spec))} on two CPU cores, one run at a time; every run is saved, named "
               "by its settings.")
    return spec


def start(holder: SweepHolder, spec: SweepSpec, early_stopping: bool | None) -> None:
    """Start ``spec`` as this session's sweep (a previous one is stopped)."""
    _stop_sweep(holder)
    holder.sweep = sweep_in(shared_pool(), spec, early_stopping=early_stopping)
    holder.sweep.start()


def draw_results(sweep: Sweep) -> None:
    """The table, the loss heatmap, the reconstructions, the maps and the loss curves of every run."""
    results = sweep.results()
    rows = results_table(results)
    done = sum(r.status in (DONE, PRUNED) for r in results)
    st.progress(done / len(results), text=f"{done} of {len(results)} runs ended"
                + (" · hopeless runs are stopped early (successive halving)" if sweep.early_stopping else ""))
    table, heat = st.columns([3, 2])
    table.dataframe([{k: v for k, v in row.items() if k not in ("run", "seconds")} for row in rows],
                    hide_index=True, key="sweep_table")
    heat.plotly_chart(loss_grid_figure(sweep.spec, [r.val_loss for r in results]), key="sweep_heatmap")
    reconstructions, maps = st.columns(2)
    with reconstructions:
        shown = [r for r in results if r.preview is not None]
        if shown:
            show_picture(st, image_strip(shown[0].preview.test_inputs, scale=2), caption="the same eight test digits")
        for result in shown:
            show_picture(st, image_strip(result.preview.test_recons, scale=2), caption=_label(result.combination))
    maps.plotly_chart(maps_figure(results), key="sweep_maps")
    st.plotly_chart(curves_figure(results), key="sweep_curves")
    for result in results:
        if result.saved_to:
            _open_buttons(result.saved_to, result.name)


def _open_buttons(path: str, name: str) -> None:
    columns = st.columns([3, 1, 1, 1], vertical_alignment="center")
    columns[0].markdown(f"`{name}`")
    for column, page in zip(columns[1:], OPENS, strict=True):
        if column.button(f"Open in {page.title}", key=f"sweep_open_{page.title}_{name}"):
            st.session_state[SELECTED_RUN] = str(Path(path))
            st.switch_page(page.path)


def _label(combination: dict) -> str:
    return " · ".join(f"{name} {get_setting(name).format(value)}" for name, value in combination.items())


def loss_grid_figure(spec: SweepSpec, losses: list[float | None]) -> go.Figure:
    """Validation loss per combination: a heatmap for two settings, bars for one."""
    (first, first_values), *rest = spec.axes
    values = np.array([np.nan if v is None else v for v in losses], dtype=float)
    if rest:
        second, second_values = rest[0]
        grid = values.reshape(len(first_values), len(second_values))
        fig = go.Figure(go.Heatmap(z=grid, x=[str(v) for v in second_values], y=[str(v) for v in first_values],
                                   colorscale="Viridis_r", text=np.vectorize(lambda v: f"{v:.4g}")(grid),
                                   texttemplate="%{text}", colorbar={"title": "val loss"}))
        fig.update_xaxes(title=get_setting(second).label, type="category")
    else:
        fig = go.Figure(go.Bar(x=[str(v) for v in first_values], y=values, marker={"color": palette.GREEN}))
        fig.update_xaxes(title=get_setting(first).label, type="category")
    fig.update_yaxes(title=get_setting(first).label if rest else "validation loss", type="category" if rest else None)
    fig.update_layout(title="Validation loss", font=FONT, height=360,
                      margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return fig


def maps_figure(results) -> go.Figure:
    """Small multiples: each run's latent map of the test codes (PCA above two dimensions)."""
    columns = min(3, len(results))
    rows = -(-len(results) // columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[_label(r.combination) for r in results])
    for i, result in enumerate(results):
        if result.preview is None or not result.preview.codes.size:
            continue
        points = project(result.preview.codes, "pca").points
        colors = [palette.class_color(label) for label in result.preview.code_labels]
        fig.add_trace(scatter_type(len(points))(x=points[:, 0], y=points[:, 1], mode="markers", showlegend=False,
                                                marker={"size": 3, "color": colors}),
                      row=i // columns + 1, col=i % columns + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(height=180 * rows + 60, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      font={"size": 13}, title="Latent maps")
    return fig


def curves_figure(results) -> go.Figure:
    """Every run's validation loss per epoch on one chart."""
    fig = go.Figure()
    for result in results:
        epochs = [record["epoch"] for record in result.history]
        losses = [(record["val"] or record["train"]).get("total") for record in result.history]
        fig.add_trace(go.Scatter(x=epochs, y=losses, mode="lines+markers", name=_label(result.combination)))
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(title="validation loss", type="log")
    fig.update_layout(title="Loss curves", font=FONT, height=380,
                      margin={"l": 60, "r": 20, "t": 50, "b": 50}, legend={"font": {"size": 14}})
    return fig
