"""Home: what an autoencoder is, a real example, what each page is for, and the model picker."""

import streamlit as st

from aecore.ui.cache import RunRef, round_trip_examples
from aecore.ui.navigation import PAGES
from aecore.ui.widgets import image_strip, run_label, run_picker, show_picture
from aecore.viz import code_cells

INTRO = ("An **autoencoder** is a neural network trained to give back its own input. "
         "The **encoder** squeezes each image into a short **code** (the latent vector), and the **decoder** "
         "rebuilds the image from that code alone. "
         "Because the code is small, the network must learn what matters in the data: that is what we explore here.")

SHOWN_AS_NUMBERS = 2  # longest code written out as numbers
PICTURE_PX = 96  # each picture of the strip: a column's whole width made the strip taller than a projector's screen
CODE_STYLE = "text-align:center;font-size:1.1rem;line-height:1.35;padding-bottom:0.75rem"  # room for the arrow
ARROW = f"<div style='{CODE_STYLE}'>↓</div>"

st.title("Autoencoder Lab")
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
        show_picture(column, image_strip(image[None]), width=PICTURE_PX)
        if cells:
            column.markdown(ARROW, unsafe_allow_html=True)
            show_picture(column, image_strip(picture[None], scale=12), width=PICTURE_PX)
            column.markdown(ARROW, unsafe_allow_html=True)
        else:  # the code as a column vector: it fits a narrow column
            numbers = "<br>".join(f"{value:+.2f}" for value in code)
            column.markdown(f"<div style='{CODE_STYLE}'>↓<br><code>{numbers}</code><br>↓</div>",
                            unsafe_allow_html=True)
        show_picture(column, image_strip(recon[None]), width=PICTURE_PX)

st.markdown(INTRO)  # under the example: the example is the first screen's picture
st.subheader("The pages")
st.markdown("\n".join(f"- **{spec.title}**: {spec.summary}" for spec in PAGES if spec.summary)
            + "\n- The model chosen above is the one every page shows; your saved runs join the list.")
