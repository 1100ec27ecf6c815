"""Inside's "Layer shapes" tab: lecture 000's exercise, every layer's output shape for a chosen input size."""

from __future__ import annotations

import streamlit as st

from aecore.checkpoints import LoadedRun
from aecore.layer_table import LayerTable, layer_table, parse_shape
from aecore.presets import get_preset
from aecore.ui import state_widgets
from aecore.ui.page_state import LAYERS_SHAPE, LAYERS_SOURCE


def shape_flow_text(table: LayerTable) -> str:
    """The shapes the data takes as one Markdown line, the code in bold: ``28x28x1 → 784 → … → **32** → …``."""
    return " → ".join(f"**{shape}**" if part == "code" else shape for part, shape in table.shape_flow)


def layer_shapes(run: LoadedRun) -> None:
    """A model (this run or a preset) and an input shape; the shapes' flow, the totals, then the table."""
    st.caption("Lecture 000's exercise: every layer's feature map (H x W x C) and the size after flattening.")
    source_column, shape_column = st.columns(2)
    source = state_widgets.draw(source_column, LAYERS_SOURCE)
    model_config = run.config.model if source == "this run" else get_preset(source).config.model
    default_shape = "x".join(map(str, run.model.input_shape)) if source == "this run" else "3x224x224"
    text = state_widgets.draw(shape_column, LAYERS_SHAPE, default=default_shape)
    try:
        table = layer_table(model_config, parse_shape(text))
    except ValueError as exc:  # a bad shape, or one the layers cannot take
        st.error(str(exc))
        return
    st.markdown(shape_flow_text(table))  # above the table, which is taller than a projector's screen
    st.markdown(f"**{table.total_parameters:,} parameters**"
                + (f" · size after flatten: **{table.flatten_size:,}**" if table.flatten_size else ""))
    if not table.reproduces_input:
        st.warning("The decoder does not give back an image of the input's size: this model cannot be "
                   "trained at this size.")
    st.dataframe([{"part": r.part, "layer": r.name, "output (H x W x C)": r.shape_text,
                   "parameters": r.parameters} for r in table.rows], hide_index=True, width="stretch")
