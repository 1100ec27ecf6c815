"""The Lecture labs page's pieces: each lab's heading and run button, and what each lab shows once it has run.

A link (or a lesson tour's step) that names labs puts them first on the page, so that a projector shows the lab a
step is about without scrolling; a lab run by its button stays where it is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from aecore import labs
from aecore.denoising import denoising_example
from aecore.diagnostics import encoder_filters, to_display
from aecore.pixels import decoded_pixels
from aecore.ui import cache, state_widgets
from aecore.ui.charts import latent_map_figure
from aecore.ui.composite_state import LABS_FIRST, lab_ran_key
from aecore.ui.page_state import LAB_QUERY
from aecore.ui.widgets import image_rows, image_strip, show_picture

Trained = list  # (model, data) per preset of the lab
TOY_ROW_HEIGHT = 30  # px: the 9-row weights table whole on a 1024x768 projector (its rows grow to 51 px there)


def named_by_link() -> bool:
    """Whether a link (or a tour's step) named the labs to show first."""
    return bool(st.session_state.get(LABS_FIRST))


def in_page_order() -> list[labs.Lab]:
    """Every lab, those a link named first (see :data:`aecore.ui.composite_state.LABS_FIRST`), the rest in the lectures'
    order."""
    first = st.session_state.get(LABS_FIRST, ())
    return sorted(labs.LABS, key=lambda spec: spec.key not in first)  # sorted is stable: the lectures' order stays


def lab_heading(spec: labs.Lab) -> Trained | None:
    """A lab's heading, its 'what to notice' text and its run button (gone once it has run: a line less above the
    pictures); the trained models once it has run."""
    st.subheader(spec.title)
    st.markdown(spec.notice)
    if not st.session_state.get(lab_ran_key(spec)) and st.button("Run this lab", key=f"lab_{spec.key}",
                                                                  icon=":material/play_arrow:"):
        st.session_state[lab_ran_key(spec)] = True
    if not st.session_state.get(lab_ran_key(spec)):
        return None
    with st.spinner("Loading the lecture's set-up…"):
        return [cache.lab_run(preset) for preset in spec.presets]


def show_toy(trained: Trained) -> None:
    """Lecture 002's 9-4-9 network on five 3x3 patterns, without and with sparsity: its weights and codes."""
    for column, (model, data), name in zip(st.columns(2), trained, ("without sparsity", "with KL sparsity"),
                                           strict=True):
        network = labs.toy_network(model, data)
        column.markdown(f"**{name}** · all five exact: **{'yes' if network.exact else 'no'}**")  # the notice says how
        for label, values in network.tables.items():
            column.markdown(f"**{label}**")
            column.dataframe(values.round(2), hide_index=True, row_height=TOY_ROW_HEIGHT)


def show_random_images(trained: Trained) -> None:
    """Undercomplete, overcomplete and sparse codes of random images: filters, activations, mean activation."""
    for column, (model, data), name in zip(st.columns(3), trained, ("undercomplete, 49", "overcomplete, 144",
                                                                    "sparse, 144"), strict=True):
        coding = labs.sparse_coding(model, data)
        column.markdown(f"**{name}**")
        show_picture(column, image_strip(coding.filters, scale=3, columns=7), width="stretch",
                     caption="encoder weights as 10x10 filters (first 49)")
        show_picture(column, image_strip(coding.activations, scale=8), width="stretch",
                     caption="hidden activations of four images")
        column.metric("Mean hidden activation", f"{coding.mean_activation:.3f}")


def show_two_d(trained: Trained) -> None:
    """Lecture 003's 2-d code: the map of the test set, its manifold, and a point decoded from two sliders."""
    model, data = trained[0]
    codes_map, manifold = labs.two_d_manifold(model, data)
    left, right = st.columns(2)
    left.plotly_chart(latent_map_figure(codes_map.points, data.test.y.numpy(), data.class_names,
                                        axis_labels=codes_map.axis_labels), theme=None, key="lab_scatter")
    right.image(manifold, width="stretch", caption="the 20x20 manifold over the plane")
    x0, x1, y0, y1 = codes_map.bounds
    x_column, y_column, image_column = st.columns([2, 2, 1])
    point = (x_column.slider("z0", x0, x1, (x0 + x1) / 2, key="lab_z0"),
             y_column.slider("z1", y0, y1, (y0 + y1) / 2, key="lab_z1"))
    chosen = decoded_pixels(model, data.normalizer, codes_map.plane.lift(np.array([point])))
    show_picture(image_column, image_strip(chosen, scale=5), caption=f"decoded at ({point[0]:.2f}, {point[1]:.2f})")


def show_denoising(trained: Trained) -> None:
    """Lecture 004's denoising net: its filters, a masked image denoised, and a test image's nearest neighbours."""
    model, data = trained[0]
    show_picture(st, image_strip(to_display(encoder_filters(model)), scale=3), width="stretch",
                 caption="the 10 encoder units' weights as 28x28 images")
    example = denoising_example(model, data, "masking", 0.3)
    show_picture(st, image_rows(example.noisy, example.denoised, example.clean, scale=3), width="stretch",
                 caption="30 % of pixels dropped, denoised, original")
    query = state_widgets.draw(st, LAB_QUERY, hi=len(data.test) - 1)
    show_picture(st, image_strip(labs.test_image_neighbours(model, data, query), scale=3), width="stretch",
                 caption="the test image, then its 8 nearest training images in the 10-d code")


SHOW: dict[str, Callable[[Trained], None]] = {labs.TOY.key: show_toy, labs.RANDOM_IMAGES.key: show_random_images,
                                              labs.TWO_D.key: show_two_d, labs.DENOISING.key: show_denoising}
