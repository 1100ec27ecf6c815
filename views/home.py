"""Home: what an autoencoder is, a real example, what each page is for, and the model picker."""

import streamlit as st

from aecore.ui.cache import RunRef, round_trip_examples
from aecore.ui.presenter import presenting
from aecore.ui.widgets import image_strip, run_label, run_picker
from aecore.viz import code_cells

INTRO = ("An **autoencoder** is a neural network trained to give back its own input. "
         "The **encoder** squeezes each image into a short **code** (the latent vector), and the **decoder** "
         "rebuilds the image from that code alone. "
         "Because the code is small, the network must learn what matters in the data: that is what we explore here.")

SHOWN_AS_NUMBERS = 2  # longest code written out as numbers
CODE_STYLE = "text-align:center;font-size:1.1rem;line-height:1.35;padding-bottom:1rem"  # room for the arrow
ARROW = f"<div style='{CODE_STYLE}'>↓</div>"

st.title("Autoencoder Lab")
intro = st.container()  # the presenter view puts it under the example instead: the example fits the screen
run_path = run_picker()
if run_path is not None:
    images, codes, recons = round_trip_examples(RunRef.of(run_path), 8)
    st.subheader("Input → code → reconstruction")
    cells = codes.shape[1] > SHOWN_AS_NUMBERS  # a long code is drawn as coloured cells: it keeps the strip short
    st.caption(f"{run_label(run_path)}: eight test images it never saw, the {codes.shape[1]} numbers the encoder "
               "made of each" + (" (red positive, blue negative)" if cells else "")
               + ", and what the decoder drew from those numbers alone.")
    pictures = code_cells(codes) if cells else [None] * len(codes)
    for column, image, code, picture, recon in zip(st.columns(len(images)), images, codes, pictures, recons,
                                                   strict=True):
        column.image(image_strip(image[None]), width="stretch")
        if cells:
            column.markdown(ARROW, unsafe_allow_html=True)
            column.image(image_strip(picture[None], scale=12), width="stretch")
            column.markdown(ARROW, unsafe_allow_html=True)
        else:  # the code as a column vector: it fits a narrow column
            numbers = "<br>".join(f"{value:+.2f}" for value in code)
            column.markdown(f"<div style='{CODE_STYLE}'>↓<br><code>{numbers}</code><br>↓</div>",
                            unsafe_allow_html=True)
        column.image(image_strip(recon[None]), width="stretch")

(st.container() if presenting() else intro).markdown(INTRO)
st.subheader("The pages")
st.markdown(
    "- **Train**: pick a preset and the sliders in the sidebar (latent size, noise factor, sparsity beta), "
    "press Start, and watch the loss, the reconstructions and the latent map change as it learns.\n"
    "- **Slow motion**: one training step per click, with each layer's gradient, and a way back through them.\n"
    "- **Your images**: train on a folder of your own images (happy/ and angry/ faces, say).\n"
    "- **Explore**: the latent map (2-D codes, PCA, t-SNE or UMAP); click anywhere to decode that spot, see the "
    "decoded grid under the map, nearest neighbours, selections; download the map as CSV.\n"
    "- **Interpolate**: walk between two digits, drag a handle to blend them or four corners, and generate "
    "new images.\n"
    "- **Draw**: draw a digit and see what the model makes of it and where it lands.\n"
    "- **Compare**: two runs' maps side by side (AE vs VAE, latent 2 vs 32).\n"
    "- **Class board**: every run trained on this server right now, under anonymous names.\n"
    "- **Sweep**: a grid of runs over one or two settings, compared as they train.\n"
    "- **Inside**: weights as images, activations and sparsity, VAE diagnostics, every layer's shape.\n"
    "- **Denoising lab**: noisy → denoised → clean, measured in PSNR, and train noise against test noise.\n"
    "- **Probes**: how well a linear classifier reads the labels from the code; pre-training with few labels.\n"
    "- **Lecture labs**: each lecture's exercise, one click each, with what to notice.\n"
    "- The model chosen above is the one every page shows; your saved runs join the list."
)
