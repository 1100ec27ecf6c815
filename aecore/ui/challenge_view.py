"""The class challenge on the Class board (see :mod:`aecore.challenge`): the teacher's form to set, change or end it,
and the ranking everyone sees, live, with each run's reconstructions and settings under its anonymous name.

The ranking is drawn in the board's fragment (every :data:`aecore.ui.board.REFRESH_S` seconds) from the same job
snapshots as the table of runs; a stopped run's costly measures come from :mod:`aecore.jobs.run_measures`
("measuring..." until ready). In the presenter view the ranking is drawn large, alone; the teacher puts it there
with one button, and downloads it as CSV.
"""

from __future__ import annotations

import time

import streamlit as st

from aecore.challenge import (
    MEASURES,
    Challenge,
    Contender,
    Placing,
    Standing,
    end_challenge,
    live_mse,
    load_challenge,
    marked,
    model_kinds,
    set_challenge,
    standing_csv,
    standing_now,
)
from aecore.class_board import BOARD
from aecore.data import list_datasets
from aecore.errors import AecoreError
from aecore.jobs import TrainingJob
from aecore.jobs.run_measures import RunMeasures, shared_measures
from aecore.ui.board import COLUMNS, ROW_HEIGHT, BoardRow, board_rows, settings_cells, strip_url
from aecore.ui.identity import my_owner
from aecore.ui.presenter import PRESENT_KEY, presenting
from aecore.ui.shared_resources import job_service

DEFAULT_MINUTES = 20
PRESENT_ROW_HEIGHT, PRESENT_ROWS = 96, 6  # the ranking on a projector: six large rows fit 1280x720
_FORM = "board_challenge"  # prefix of the form's widget keys


def current_challenge() -> Challenge | None:
    """The class's challenge (None when the teacher has set none)."""
    return load_challenge(job_service().store)


def challenge_setup() -> None:
    """For the teacher alone: a form to set or change the challenge, buttons to end or remove it, and one to put
    the ranking on the projector."""
    owner = my_owner()
    if not owner.is_teacher:
        return
    challenge, store = current_challenge(), job_service().store
    form, end, projector = st.columns([1, 1, 2], vertical_alignment="center")
    with form.popover("Change the challenge" if challenge else "Set a challenge", icon=":material/emoji_events:"):
        new = _challenge_form(challenge)
        if st.button("Set the challenge", key=f"{_FORM}_set", type="primary"):
            _apply(lambda: set_challenge(store, owner, new()))
        if challenge is not None and st.button("Remove the challenge", key=f"{_FORM}_remove"):
            _apply(lambda: set_challenge(store, owner, None))
    ending = challenge is not None and not challenge.ended()
    if ending and end.button("End it now", key=f"{_FORM}_end", icon=":material/flag:"):
        _apply(lambda: end_challenge(store, owner))
    present = challenge is not None and not presenting()
    if present and projector.button("Put the ranking on the projector", key=f"{_FORM}_present", icon=":material/tv:"):
            st.session_state[PRESENT_KEY] = True
            st.rerun()


def _challenge_form(challenge: Challenge | None):
    """The form's widgets, filled from ``challenge``; returns a function that builds the challenge they say."""
    base = challenge or Challenge()
    measure = st.selectbox("Measure", list(MEASURES), index=list(MEASURES).index(base.measure),
                           format_func=lambda name: MEASURES[name].label, key=f"{_FORM}_measure",
                           help="Test MSE and PSNR (10·log10(1/MSE), pixels in [0, 1]) while runs train; the "
                                "linear probe's accuracy once a run stops")
    names = [info.name for info in list_datasets()]
    dataset = st.selectbox("Dataset", names, index=names.index(base.dataset) if base.dataset in names else 0,
                           key=f"{_FORM}_dataset")
    latent = st.number_input("Latent size at most (0: any)", 0, 4096, base.max_latent or 0, key=f"{_FORM}_latent")
    epochs = st.number_input("Epochs at most (0: any)", 0, 100_000, base.max_epochs or 0, key=f"{_FORM}_epochs")
    models = st.multiselect("Models (none: any)", model_kinds(), default=list(base.models), key=f"{_FORM}_models")
    left = (base.ends_at - time.time()) / 60 if challenge is not None and not challenge.ended() else DEFAULT_MINUTES
    minutes = st.number_input("Ends in (minutes)", 1, 7 * 24 * 60, max(1, round(left)), key=f"{_FORM}_minutes")
    return lambda: Challenge(measure, dataset, int(latent) or None, int(epochs) or None, tuple(models),
                             time.time() + 60 * int(minutes))


def _apply(action) -> None:
    try:
        action()
    except AecoreError as exc:
        st.error(str(exc))
    else:
        st.rerun()


def contenders(rows: list[BoardRow], challenge: Challenge, measures: RunMeasures) -> list[Contender]:
    """The board's runs as the challenge sees them; a stopped run that meets the constraints is measured (once)."""
    found = []
    for row in rows:
        snapshot, config = row.snapshot, row.snapshot.config
        epochs, training = max(snapshot.epoch, snapshot.epochs), snapshot.active
        folder = None if training else row.entry.job.model_folder()
        measured = measures.get(folder) if folder is not None and not challenge.misses(config, epochs) else None
        found.append(Contender(row.entry.name, config, epochs, training, live_mse(config, snapshot.history),
                               measured, measuring=folder is not None and measured is None, ref=row))
    return found


def draw_challenge(mine: TrainingJob | None) -> bool:
    """The challenge's headline and ranking (large while presenting), with the CSV for the teacher; False when
    there is no challenge."""
    challenge = current_challenge()
    if challenge is None:
        return False
    rows, _ = board_rows(mine)
    standing = standing_now(job_service().store, challenge, contenders(rows, challenge, shared_measures()))
    big = presenting()
    (st.header if big else st.subheader)(f"Challenge: {challenge.describe()}", anchor=False)
    st.caption(_clock_line(challenge, standing))
    placings = [*standing.ranked, *standing.waiting]
    if placings:
        by_name = {row.entry.name: row for row in rows}
        table = [_cells(placing, challenge, by_name.get(placing.name), BOARD.name_of(mine), big)
                 for placing in placings]
        height = PRESENT_ROW_HEIGHT if big else ROW_HEIGHT
        st.dataframe(table, hide_index=True, column_config=_columns(challenge), row_height=height,
                     height=38 + height * min(len(table), PRESENT_ROWS if big else 10), key="board_ranking")
    else:
        st.info("No run meets the challenge yet: train one on the Train page.")
    if standing.apart and not big:
        with st.expander(f"Not in the challenge ({len(standing.apart)})"):
            st.dataframe([{"Name": marked(p.name, BOARD.name_of(mine)), "Out because": "; ".join(p.reasons)}
                          for p in standing.apart], hide_index=True, key="board_ranking_apart")
    if my_owner().is_teacher:
        st.download_button("Download the ranking (CSV)", standing_csv(challenge, standing), file_name="challenge.csv",
                           mime="text/csv", key=f"{_FORM}_csv", on_click="ignore", icon=":material/download:")
    return True


def _clock_line(challenge: Challenge, standing: Standing) -> str:
    ends = time.strftime("%H:%M", time.localtime(challenge.ends_at))
    if not challenge.ended():
        left = max(1, round((challenge.ends_at - time.time()) / 60))
        return f"Ends at {ends} (in {left} min). Runs are ranked live while they train; yours says (you)."
    if standing.final:
        return f"Ended at {ends}: the final ranking."
    return f"Ended at {ends}: the final ranking is drawn once the stopped runs are measured."


def _columns(challenge: Challenge) -> dict:
    label = challenge.metric.label
    return {"#": st.column_config.TextColumn("#", width="small", pinned=True),
            "Name": COLUMNS["Name"], label: st.column_config.TextColumn(label),
            "Measured on": st.column_config.TextColumn("Measured on",
                                                       help="validation: the job's last epoch; test set: the whole "
                                                            "test split, measured once the run stopped"),
            **{name: column for name, column in COLUMNS.items() if name not in ("Name", "Train loss", "Val loss")}}


def _cells(placing: Placing, challenge: Challenge, row: BoardRow | None, mine: str | None, big: bool) -> dict:
    """A ranking row: rank, name, value, where measured, status, strip and settings (those of the run now, or those
    the standing kept when the run has left the board)."""
    preview = row.snapshot.preview if row is not None else None
    cells = {"#": str(placing.rank or ""), "Name": marked(placing.name, mine), challenge.metric.label: placing.shown,
             "Reconstructions": strip_url(preview) if preview is not None else None,
             "Measured on": placing.measured_on, "Status": placing.status}
    if row is not None:
        cells |= settings_cells(row.snapshot.config, placing.epochs)
    else:
        cells |= {"Model": placing.model, "Latent": placing.latent, "Epochs": placing.epochs}
    if big:  # the projector: what a class reads from the back of the room
        for column in ("Measured on", "Status", "Dataset", "β"):
            cells.pop(column, None)
    return cells
