"""Inside the network: weights, activations and sparsity, VAE diagnostics and layer shapes."""

import numpy as np
import streamlit as st

from aecore import diagnostics
from aecore.checkpoints import list_runs
from aecore.ui import cache, page_state, state_widgets
from aecore.ui.activations import activation_view
from aecore.ui.charts import bar_figure
from aecore.ui.layer_view import layer_shapes
from aecore.ui.widgets import image_strip, run_label, show_picture

MAX_TILES, TRAVERSAL_VALUES = 100, np.linspace(-3, 3, 9)
st.title("Inside the network")
ref = cache.chosen_run()
run = ref.run()
tabs = state_widgets.tabs(page_state.INSIDE_TAB)


def weights() -> None:
    st.caption("Each tile is one unit's weights drawn as an image, scaled to its own range: what the first "
               "layer looks for, and what the last layer paints (lectures 002 and 004).")
    for title, filters in (("Encoder, first layer", diagnostics.encoder_filters(run.model)),
                           ("Decoder, last layer", diagnostics.decoder_filters(run.model))):
        st.markdown(f"**{title}**: {len(filters)} units{' (first 100 shown)' if len(filters) > MAX_TILES else ''}, "
                    f"{filters.shape[2]}x{filters.shape[3]} each")
        scale = 3 if filters.shape[-1] >= 10 else 12
        show_picture(st, image_strip(diagnostics.filter_pictures(filters, MAX_TILES), scale=scale, columns=20),
                     width="stretch")


def activations() -> None:
    runs = list_runs()
    sparse_default = next((r for r in runs if "sparse" in r.name and str(r) != ref.path), runs[0])
    other_column, first_column = st.columns([3, 1])
    other = state_widgets.draw(other_column, page_state.INSIDE_OTHER, options=runs, default=sparse_default,
                               format_func=run_label)
    first = state_widgets.draw(first_column, page_state.INSIDE_FIRST)
    left, right = st.columns(2)
    with left:
        activation_view(ref, "This run", first)
    with right:
        activation_view(cache.RunRef.of(other), "Compared with", first)


def vae() -> None:
    if not run.config.model.variational:
        st.info("This tab is for variational autoencoders: pick mnist-vae-latent2 or mnist-conv-vae above.")
    else:
        kl = cache.kl_by_dimension(ref)
        st.plotly_chart(bar_figure(kl, "KL per latent dimension", "latent dimension", "nats",
                                   threshold=diagnostics.COLLAPSED_KL_NATS), theme=None, key="inside_kl_chart")
        if len(collapsed := diagnostics.collapsed_dimensions(kl)):
            st.warning(f"Dimensions {', '.join(map(str, collapsed))} have collapsed to the prior: the encoder "
                       "ignores them and the decoder learns to ignore them too.")
        else:
            st.success(f"Every latent dimension carries information (KL above {diagnostics.COLLAPSED_KL_NATS} nats).")
        st.markdown("**Traversals**: each row changes one latent dimension from −3 to +3, the others held at "
                    "the mean code.")
        rows = diagnostics.traversals(cache.test_sample(ref, 1000).codes, TRAVERSAL_VALUES)
        show_picture(st, image_strip(cache.decode_pixels(ref, rows), scale=2, columns=len(TRAVERSAL_VALUES)), width=520)


for tab, draw in zip(tabs, (weights, activations, vae, lambda: layer_shapes(run)), strict=True):
    if tab.open:  # the closed tabs' pictures are not made (st.tabs reruns the page when another one opens)
        with tab:
            draw()
