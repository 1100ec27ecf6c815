"""Your own images (lecture 000's homework): upload labelled images, train a conv AE live, look at the codes."""

import streamlit as st

from aecore.errors import AecoreError
from aecore.ui import page_state as state
from aecore.ui.board import share_toggle
from aecore.ui.identity import my_job
from aecore.ui.image_upload import choose_images, codes_map, read_images, show_images
from aecore.ui.live import live_training
from aecore.ui.state_widgets import draw
from aecore.ui.widgets import save_run_form
from aecore.uploads import folder_run_config

START = "Train on these images"  # the button's label, which the hint under it names
st.title("Your images")
st.caption("Lecture 000's homework: bring a folder of images per class (happy/ and angry/ faces, Tom & Jerry "
           "frames…), train a convolutional autoencoder on them, and see what it makes of them.")
job = my_job()

folder = choose_images()
if not folder:
    st.info("Upload images or a .zip of class folders (or name a server folder) to begin.")
    st.stop()

size_column, colour_column, latent_column, split_column, model_column = st.columns(5)
settings = dict(
    image_size=draw(size_column, state.OWN_SIZE),
    color=draw(colour_column, state.OWN_COLOUR, format_func=str.upper),
    latent=draw(latent_column, state.OWN_LATENT),
    test_fraction=draw(split_column, state.OWN_TEST_SHARE),
    variational=draw(model_column, state.OWN_MODEL) == "conv-vae",
)
try:
    config = folder_run_config(folder, **settings)  # the conv depth follows the image size
    data = read_images(config.data)  # in memory, or streamed from a cache on disk: it says which, and why
except AecoreError as exc:
    st.error(str(exc))
    st.stop()
show_images(data)

epochs = draw(st, state.OWN_EPOCHS)
if st.button(START, type="primary", icon=":material/play_arrow:", disabled=job.snapshot().active,
             key="own_train"):
    try:
        job.start(folder_run_config(folder, **settings, epochs=int(epochs)))
    except AecoreError as exc:
        st.error(str(exc))
share_toggle()  # the class board lists runs on a student's own images only when they say so

live_training(job, "own", start=START)

trained = job.trained()
if trained is None or trained[1].name != f"folder:{folder}":
    st.stop()
codes_map(*trained, key="own")
save_run_form(job, "own_save", label="Save this run as", placeholder="e.g. my-faces")
