"""Lecture labs: every exercise of the lectures, one click each, with what to notice."""

import numpy as np
import pandas as pd
import streamlit as st
import torch

from aecore.diagnostics import codes_as_images, denoise, encoder_filters, mean_activations, to_display
from aecore.latent import LatentPlane, encode_images, grid_points, nearest_neighbours
from aecore.ui import explorer as ex
from aecore.ui.charts import latent_map_figure
from aecore.ui.widgets import image_rows, image_strip
from aecore.viz import mosaic, to_pil

st.title("Lecture labs")
st.caption("Each lab is the lecture's exact set-up, trained ahead of time and shipped with the project "
           "(`make checkpoints` retrains them), and shows what the lecture asks to look at.")


def lab(title: str, notice: str, presets: list[str], key: str):
    """A lab's heading, its 'what to notice' text and its run button; the trained models once it has run."""
    st.subheader(title)
    st.markdown(notice)
    if st.button("Run this lab", key=f"lab_{key}", icon=":material/play_arrow:"):
        st.session_state[f"lab_{key}_ran"] = True
    if not st.session_state.get(f"lab_{key}_ran"):
        return None
    with st.spinner("Loading the lecture's set-up…"):
        return [ex.trained_preset(preset) for preset in presets]


def table(values: torch.Tensor | np.ndarray, decimals: int = 2) -> pd.DataFrame:
    return pd.DataFrame(np.round(np.asarray(values, dtype=np.float64), decimals))


trained = lab("Lecture 002: five binary 3x3 patterns, 4 sigmoid hidden units",
              "Plain gradient descent (lr 0.1) on the summed cross-entropy finds weights that give back all five "
              "patterns exactly once the outputs are binarised. **Notice** how the KL sparsity penalty (ρ 0.1, "
              "β 0.5) pushes most hidden activations towards zero, so each pattern is carried by one or two units.",
              ["lecture-002-toy", "lecture-002-toy-sparse"], "toy")
if trained:
    for column, (model, data), name in zip(st.columns(2), trained, ("without sparsity", "with KL sparsity"),
                                           strict=True):
        x = data.train.x[data.train.y.argsort()]
        with torch.no_grad():
            out = model(x)
        decoder = [m for m in model.decoder.modules() if isinstance(m, torch.nn.Linear)][-1]
        with column:
            st.markdown(f"#### {name}")
            exact = bool(torch.equal((out.recon > 0.5).float(), x))
            st.markdown(f"All five patterns reconstructed exactly after binarising: **{'yes' if exact else 'no'}**")
            for label, values in (("W (9 x 4)", model.to_code.weight.T), ("W' (4 x 9)", decoder.weight.T),
                                  ("b", model.to_code.bias[None]), ("b'", decoder.bias[None]),
                                  ("hidden activations (5 x 4)", out.code), ("outputs (5 x 9)", out.recon.flatten(1)),
                                  ("binarised outputs", (out.recon > 0.5).float().flatten(1))):
                st.markdown(f"**{label}**")
                st.dataframe(table(values.detach()), hide_index=True)

trained = lab("Lecture 002: 100 random 10x10 images, under-, over-complete and sparse",
              "With 49 hidden units the network must compress; with 144 it can copy, and its filters stay noisy. "
              "**Notice** how the sparse 144-unit network (ρ 0.05, β 0.5) uses only a few units per image: "
              "its 12x12 activation maps are mostly dark.",
              ["lecture-002-undercomplete", "lecture-002-overcomplete", "lecture-002-sparse"], "random")
if trained:
    for column, (model, data), name in zip(st.columns(3), trained, ("undercomplete, 49", "overcomplete, 144",
                                                                    "sparse, 144"), strict=True):
        codes = encode_images(model, data.train.x[:4])
        with column:
            st.markdown(f"#### {name}")
            st.image(image_strip(to_display(encoder_filters(model))[:49], scale=3, columns=7), width="stretch",
                     caption="encoder weights as 10x10 filters (first 49)")
            st.image(image_strip(codes_as_images(codes), scale=8), width="stretch",
                     caption="hidden activations of four images")
            st.metric("Mean hidden activation", f"{mean_activations(encode_images(model, data.train.x)).mean():.3f}")

trained = lab("Lecture 003: a 2-D code for the digits 1, 5 and 6",
              "The 784-500-300-2 tanh network (Adam 1e-4, batch 50) spreads the three digits over a plane. "
              "**Notice** that the 20x20 grid decoded over that plane morphs smoothly between the digits, and "
              "that points between the clusters decode to blends.",
              ["lecture-003-ae"], "two_d")
if trained:
    model, data = trained[0]
    codes = encode_images(model, data.test.x)
    plane = LatentPlane.of_dimensions(codes)
    bounds = ex.bounds_of(codes)
    left, right = st.columns(2)
    labels = data.test.y.numpy()
    left.plotly_chart(latent_map_figure(codes, labels, data.class_names, axis_labels=("z0", "z1")), theme=None,
                      key="lab_scatter")
    grid = grid_points(bounds[:2], bounds[2:], 20)
    with torch.no_grad():
        images = model.decode(torch.from_numpy(plane.lift(grid))).numpy()
    right.image(to_pil(mosaic(images, 20, padding=0), scale=2), width="stretch",
                caption="the 20x20 manifold over the plane")
    x_column, y_column, image_column = st.columns([2, 2, 1])
    point = (x_column.slider("z0", bounds[0], bounds[1], float(np.mean(bounds[:2])), key="lab_z0"),
             y_column.slider("z1", bounds[2], bounds[3], float(np.mean(bounds[2:])), key="lab_z1"))
    with torch.no_grad():
        chosen = model.decode(torch.from_numpy(plane.lift(np.array([point])))).numpy()
    image_column.image(image_strip(chosen, scale=5), caption=f"decoded at ({point[0]:.2f}, {point[1]:.2f})")

trained = lab("Lecture 004: a denoising autoencoder with a 10-number ReLU code",
              "Trained on 10 % of MNIST with 30 % of the pixels dropped from each input, it learns to fill the "
              "gaps. **Notice** the encoder weights look like strokes and blobs, and that the nearest neighbours "
              "in the 10-d code share the digit's class and style.",
              ["lecture-004-denoising"], "denoising")
if trained:
    model, data = trained[0]
    st.image(image_strip(to_display(encoder_filters(model)), scale=3), width="stretch",
             caption="the 10 encoder units' weights as 28x28 images")
    clean = data.test.x[:10]
    noisy, denoised = denoise(model, clean, "masking", 0.3)
    st.image(image_rows(noisy.numpy(), denoised.numpy(), clean.numpy(), scale=3), width="stretch",
             caption="30 % of pixels dropped, denoised, original")
    query = st.number_input("Neighbours of test image #", 0, len(data.test) - 1, 0, key="lab_query")
    bank = encode_images(model, data.train.x)
    found, _ = nearest_neighbours(bank, encode_images(model, data.test.x[[query]]), 8)
    st.image(image_strip(np.concatenate([data.test.x[[query]].numpy(), data.train.x[found[0]].numpy()]), scale=3),
             width="stretch", caption="the test image, then its 8 nearest training images in the 10-d code")
