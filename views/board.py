"""Class board: every session's run on this server, live, under an anonymous name; two of them side by side in
Compare; and the teacher's challenge, ranked live (large on the projector)."""

import streamlit as st

from aecore.class_board import BOARD
from aecore.ui.board import REFRESH_S, class_limits, draw_board
from aecore.ui.challenge_view import challenge_setup, draw_challenge
from aecore.ui.identity import my_job
from aecore.ui.presenter import presenting

st.title("Class board")
mine = my_job()
if not presenting():
    st.caption(f"Every run on this server, live, under an anonymous name (yours: **{BOARD.name_of(mine)}**). "
               "Runs on someone's own images show only if they share them. Tick two runs to compare their maps.")
    class_limits()
challenge_setup()


@st.fragment(run_every=REFRESH_S)
def board() -> None:
    if draw_challenge(mine) and presenting():
        return  # the projector shows the ranking alone, large
    draw_board(mine)


board()
