"""The Sweep page's pieces: the grid form, the session's sweep, and its live results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from aecore.errors import AecoreError
from aecore.jobs import shared_pool
from aecore.presets import list_presets
from aecore.projection import project
from aecore.settings import SETTINGS, get_setting
from aecore.sweep import DONE, PRUNED, Sweep, SweepSpec, estimated_seconds, results_table, sweep_in
from aecore.ui import palette
from aecore.ui.charts import FONT
from aecore.ui.widgets import SELECTED_RUN, format_eta, image_strip

VARIABLE = [s.name for s in SETTINGS if s.name not in ("epochs", "dataset", "device")]
DEFAULT_AXES = (("latent", "2,8,32"), ("noise", "0,0.3,0.5"))
CLASS_SUBSETS_EXAMPLE = "1,5,6;0,1"  # two runs: on digits 1, 5 and 6, and on 0 and 1
OPENS = (("Explore", "views/explore.py"), ("Inside", "views/inside.py"), ("Compare", "views/compare.py"))


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


def default_values(name: str) -> str:
    """The values a sweep over setting ``name`` starts from, as the values box shows them: the usual ones for
    latent size and noise, else a few of the setting's choices, or the ends of its range."""
    if name in dict(DEFAULT_AXES):
        return dict(DEFAULT_AXES)[name]
    setting = get_setting(name)
    if setting.kind is tuple:
        return CLASS_SUBSETS_EXAMPLE
    values = setting.choices[:3] if setting.choices else (setting.lo, setting.hi) if setting.lo is not None else ()
    return ",".join(setting.format(value) for value in values)


def sweep_form(dataset: str) -> SweepSpec | None:
    """Preset, one or two settings with their values, and epochs; the spec, or None with the reason shown."""
    presets = [p.name for p in list_presets() if not p.needs_dataset]
    top = st.columns([2, 1, 1])
    preset = top[0].selectbox("Preset", presets, index=presets.index("ae"), key="sweep_preset")
    epochs = top[1].number_input("Epochs per run", 1, 200, 3, key="sweep_epochs")
    axes = {}
    for i, column in enumerate(st.columns(2)):
        options = ["(nothing)", *(n for n in VARIABLE if n not in axes)] if i else VARIABLE  # a setting varies once
        if st.session_state.get(f"sweep_axis_{i}", options[0]) not in options:
            st.session_state[f"sweep_axis_{i}"] = options[0]
        name = column.selectbox(f"Vary ({i + 1})", options, index=options.index(DEFAULT_AXES[i][0]) if
                                DEFAULT_AXES[i][0] in options else 0, key=f"sweep_axis_{i}",
                                format_func=lambda n: get_setting(n).label if n in VARIABLE else n)
        if name in VARIABLE:
            axes[name] = column.text_input(f"{get_setting(name).label}: values", default_values(name),
                                           key=f"sweep_values_{name}",
                                           help=f"comma-separated, e.g. 2,8,32 (subsets: {CLASS_SUBSETS_EXAMPLE})")
    try:
        spec = SweepSpec.parse(preset, axes, int(epochs), dataset=dataset, device="auto")
    except AecoreError as exc:
        st.error(str(exc))
        return None
    runs = len(spec.combinations())
    top[2].metric("Runs", runs, help=f"about {format_eta(estimated_seconds(spec))} on this machine's CPUs")
    st.caption(f"{runs} runs × {spec.epochs} epochs on {dataset}: about {format_eta(estimated_seconds(spec))} "
               "on two CPU cores, one run at a time; every run is saved, named by its settings.")
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
            st.image(image_strip(shown[0].preview.test_inputs, scale=2), caption="the same eight test digits")
        for result in shown:
            st.image(image_strip(result.preview.test_recons, scale=2), caption=_label(result.combination))
    maps.plotly_chart(maps_figure(results), key="sweep_maps")
    st.plotly_chart(curves_figure(results), key="sweep_curves")
    for result in results:
        if result.saved_to:
            _open_buttons(result.saved_to, result.name)


def _open_buttons(path: str, name: str) -> None:
    columns = st.columns([3, 1, 1, 1], vertical_alignment="center")
    columns[0].markdown(f"`{name}`")
    for column, (title, page) in zip(columns[1:], OPENS, strict=True):
        if column.button(f"Open in {title}", key=f"sweep_open_{title}_{name}"):
            st.session_state[SELECTED_RUN] = str(Path(path))
            st.switch_page(page)


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
        fig.add_trace(go.Scattergl(x=points[:, 0], y=points[:, 1], mode="markers", showlegend=False,
                                   marker={"size": 3, "color": colors}), row=i // columns + 1, col=i % columns + 1)
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
