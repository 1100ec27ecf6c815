"""Inside's "Layer shapes" tab: lecture 000's exercise, every layer's output shape for a chosen input size."""

from __future__ import annotations

import streamlit as st

from aecore.checkpoints import LoadedRun
from aecore.layer_table import LayerTable, layer_table, parse_shape
from aecore.presets import get_preset
from aecore.ui import state_widgets
from aecore.ui.page_state import LAYERS_SHAPE, LAYERS_SOURCE

ROWS_SHOWN, ROW_HEIGHT, HEADER_HEIGHT = 9, 35, 38  # px: st.dataframe's default row and header heights


def shape_flow_text(table: LayerTable) -> str:
    """The shapes the data takes as one Markdown line, the code in bold: ``28x28x1 → 784 → … → **32** → …``."""
    return " → ".join(f"**{shape}**" if part == "code" else shape for part, shape in table.shape_flow)


def layer_shapes(run: LoadedRun) -> None:
    """A model (this run or a preset) and an input shape, the shapes' flow and the totals, beside the table of
    every layer (ROWS_SHOWN rows in sight, the rest a scroll away: whole, it was 585 px tall on a projector)."""
    st.caption("Lecture 000's exercise: every layer's feature map (H x W x C) and the size after flattening.")
    controls, shown = st.columns([2, 3])
    source = state_widgets.draw(controls, LAYERS_SOURCE)
    model_config = run.config.model if source == "this run" else get_preset(source).config.model
    default_shape = "x".join(map(str, run.model.input_shape)) if source == "this run" else "3x224x224"
    text = state_widgets.draw(controls, LAYERS_SHAPE, default=default_shape)
    try:
        table = layer_table(model_config, parse_shape(text))
    except ValueError as exc:  # a bad shape, or one the layers cannot take
        controls.error(str(exc))
        return
    controls.markdown(shape_flow_text(table))
    controls.markdown(f"**{table.total_parameters:,} parameters**"
                      + (f" · size after flatten: **{table.flatten_size:,}**" if table.flatten_size else ""))
    if not table.reproduces_input:
        controls.warning("The decoder does not give back an image of the input's size: this model cannot be "
                         "trained at this size.")
    shown.dataframe([{"part": r.part, "layer": r.name, "output (H x W x C)": r.shape_text,
                      "parameters": r.parameters} for r in table.rows], hide_index=True, width="stretch",
                    height=HEADER_HEIGHT + ROW_HEIGHT * min(len(table.rows), ROWS_SHOWN))
