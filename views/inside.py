"""Inside the network: weights, activations and sparsity, VAE diagnostics and layer shapes."""

import numpy as np
import streamlit as st

from aecore.diagnostics import (
    COLLAPSED_KL_NATS,
    codes_as_images,
    collapsed_dimensions,
    dead_units,
    decoder_filters,
    encoder_filters,
    kl_per_dimension,
    mean_activations,
    to_display,
    traversal_codes,
)
from aecore.layer_table import layer_table, parse_shape
from aecore.presets import get_preset, list_presets
from aecore.ui import explorer as ex
from aecore.ui.charts import activation_histogram, bar_figure
from aecore.ui.loaders import available_runs
from aecore.ui.widgets import image_strip, run_label

MAX_TILES = 100
st.title("Inside the network")
path, ref, run = ex.chosen_run()
weights_tab, activations_tab, vae_tab, layers_tab = st.tabs(["Weights", "Activations", "VAE", "Layer shapes"])

with weights_tab:
    st.caption("Each tile is one unit's weights drawn as an image, scaled to its own range: what the first "
               "layer looks for, and what the last layer paints (lectures 002 and 004).")
    for title, filters in (("Encoder, first layer", encoder_filters(run.model)),
                           ("Decoder, last layer", decoder_filters(run.model))):
        if filters.shape[1] not in (1, 3):  # conv filters over many channels: show the first channel
            filters = filters[:, :1]
        shown = to_display(filters[:MAX_TILES])
        st.markdown(f"**{title}**: {len(filters)} units{' (first 100 shown)' if len(filters) > MAX_TILES else ''}, "
                    f"{filters.shape[2]}x{filters.shape[3]} each")
        st.image(image_strip(shown, scale=3 if filters.shape[-1] >= 10 else 12, columns=20), width="stretch")


def activation_view(run_ref: ex.RunRef, heading: str, first: int) -> None:
    loaded = run_ref.run()
    codes, _, indices = ex.encoded_test_sample(run_ref, 1000)
    chosen = slice(first, first + 8)
    objective = loaded.config.objective
    rho = objective.sparsity_rho if objective.sparsity == "kl" else None
    st.markdown(f"**{heading}**: {loaded.config.preset}, latent {loaded.model.latent_dim}"
                + (f", KL sparsity β {objective.sparsity_beta:g} ρ {objective.sparsity_rho:g}" if rho else ""))
    st.image(image_strip(ex.test_pixels(run_ref, indices[chosen]), scale=2), width="stretch", caption="inputs")
    pictures = codes_as_images(codes[chosen])
    pictures = (pictures - pictures.min()) / max(float(np.ptp(pictures)), 1e-12)
    st.image(image_strip(pictures, scale=max(2, 28 // pictures.shape[-1] * 2)), width="stretch",
             caption=f"their codes as {pictures.shape[2]}x{pictures.shape[3]} images (bright = active)")
    st.plotly_chart(activation_histogram(mean_activations(codes), rho, "How active is each unit?"), theme=None,
                    key=f"histogram_{heading}")
    dead = dead_units(codes)
    st.metric("Dead units (never change)", f"{len(dead)} of {codes.shape[1]}")


with activations_tab:
    runs = available_runs()
    sparse_default = next((r for r in runs if "sparse" in r.name and r != path), runs[0])
    other_column, first_column = st.columns([3, 1])
    other = other_column.selectbox("Side by side with", runs, index=runs.index(sparse_default), format_func=run_label,
                                   key="inside_compare")
    first = first_column.number_input("Inputs from sample image #", 0, 992, 0, step=8, key="inside_first")
    left, right = st.columns(2)
    with left:
        activation_view(ref, "This run", first)
    with right:
        activation_view(ex.RunRef.of(other), "Compared with", first)

with vae_tab:
    if not run.config.model.variational:
        st.info("This tab is for variational autoencoders: pick mnist-vae-latent2 or mnist-conv-vae above.")
    else:
        data = ref.dataset()
        kl = kl_per_dimension(run.model, data.test.x[:2000])
        st.plotly_chart(bar_figure(kl, "KL per latent dimension", "latent dimension", "nats",
                                   threshold=COLLAPSED_KL_NATS), theme=None)
        collapsed = collapsed_dimensions(kl)
        if len(collapsed):
            st.warning(f"Dimensions {', '.join(map(str, collapsed))} have collapsed to the prior: the encoder "
                       "ignores them and the decoder learns to ignore them too.")
        else:
            st.success("Every latent dimension carries information (KL above "
                       f"{COLLAPSED_KL_NATS} nats).")
        codes, _, _ = ex.encoded_test_sample(ref, 1000)
        values = np.linspace(-3, 3, 9)
        st.markdown("**Traversals**: each row changes one latent dimension from −3 to +3, the others held at "
                    "the mean code.")
        rows = [traversal_codes(codes.mean(axis=0), d, values) for d in range(min(run.model.latent_dim, 16))]
        st.image(image_strip(ex.decode_to_pixels(ref, np.concatenate(rows)), scale=2, columns=len(values)),
                 width=520)

with layers_tab:
    st.caption("Lecture 000's exercise: every layer's feature map (H x W x C) and the size after flattening.")
    source_column, shape_column = st.columns(2)
    source = source_column.selectbox("Model", ["this run", *[p.name for p in list_presets()]], key="layers_source")
    model_config = run.config.model if source == "this run" else get_preset(source).config.model
    default_shape = "x".join(map(str, run.model.input_shape)) if source == "this run" else "3x224x224"
    text = shape_column.text_input("Input C x H x W", default_shape, key=f"layers_shape_{source}")
    try:
        table = layer_table(model_config, parse_shape(text))
    except ValueError as exc:  # a bad shape, or one the layers cannot take
        st.error(str(exc))
    else:
        st.dataframe([{"part": r.part, "layer": r.name, "output (H x W x C)": r.shape_text,
                       "parameters": r.parameters} for r in table.rows], hide_index=True, width="stretch")
        st.markdown(f"**{table.total_parameters:,} parameters**"
                    + (f" · size after flatten: **{table.flatten_size:,}**" if table.flatten_size else ""))
        if not table.reproduces_input:
            st.warning("The decoder does not give back an image of the input's size: this model cannot be "
                       "trained at this size.")
