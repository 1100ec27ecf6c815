"""Class board: every session's run on this server, live, under an anonymous name; two of them side by side in
Compare."""

import streamlit as st

from aecore.class_board import BOARD
from aecore.ui.board import REFRESH_S, class_limits, draw_board
from aecore.ui.identity import my_job

st.title("Class board")
mine = my_job()
st.caption(f"Every run on this server, live, under an anonymous name (yours: **{BOARD.name_of(mine)}**). "
           "Runs on someone's own images show only if they share them. Tick two runs to compare their maps.")
class_limits()


@st.fragment(run_every=REFRESH_S)
def board() -> None:
    draw_board(mine)


board()
