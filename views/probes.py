"""Probes: how much about the labels the code knows, and what pre-training buys with few labels."""

import streamlit as st

from aecore.probes import pretraining_against_scratch
from aecore.ui import cache, state_widgets
from aecore.ui.charts import accuracy_figure
from aecore.ui.page_state import PROBE_LABELS

RESULT = "probe_result"  # session key: (run path, labels per class, accuracy of each way)

st.title("Probes: what the code knows")
ref = cache.chosen_run()
run = ref.run()

st.subheader("A softmax classifier on the frozen code")
st.caption("Lecture 002 (c): train only a linear softmax layer on the codes, never the encoder. High accuracy "
           "means the autoencoder, which never saw a label, laid the classes out so a line can separate them.")
st.metric(f"Test accuracy from a {run.model.latent_dim}-number code", f"{cache.probe_accuracy(ref):.1%}",
          help=f"chance is {1 / max(1, len(run.class_names)):.0%}")

st.subheader("Few labels: pre-trained against from scratch")
st.caption("Lecture 001's pre-training story: with only k labelled images per class, does starting from the "
           "autoencoder's encoder (trained on all the unlabelled images) beat the same network trained on the "
           "labelled few alone? Three ways are compared on the test set; the answer depends on the data.")
k_column, button_column = st.columns([3, 1], vertical_alignment="bottom")
per_class = state_widgets.draw(k_column, PROBE_LABELS)
if button_column.button("Compare", type="primary", icon=":material/play_arrow:", width="stretch",
                        key="probe_compare"):
    with st.spinner("Training three classifiers on the labelled few…"):
        data = ref.dataset()
        st.session_state[RESULT] = (ref.path, per_class, pretraining_against_scratch(
            run.model, run.config.model, data.train, data.test, per_class))
result = st.session_state.get(RESULT)
if result and result[0] == ref.path:
    _, shown_k, scores = result
    st.plotly_chart(accuracy_figure(scores, f"Test accuracy with {shown_k} labels per class"), theme=None,
                    key="probe_accuracy_chart")
else:
    st.info("Press Compare (it trains three small classifiers: a few seconds to a minute).")
