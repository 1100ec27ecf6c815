"""The Class board page's pieces: one row per session's run, drawn from job snapshots only (no model is loaded
to draw the board), two runs opened side by side in Compare, and the toggle that shares runs on one's own images.

The board is cheap to watch: a fragment redraws one table every :data:`REFRESH_S` seconds, of at most
:data:`MAX_ROWS` runs, each with a small strip of the test images its job already sends to its owner's page
(encoded once per preview, whoever watches).
"""

from __future__ import annotations

import base64
import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from PIL import Image

from aecore.class_board import BOARD, BoardEntry, uses_own_images
from aecore.config import RunConfig
from aecore.describe import counted, model_name, training_noise
from aecore.errors import AecoreError
from aecore.events import Preview
from aecore.jobs import (
    FAILED,
    FINISHED,
    LOADING,
    QUEUED,
    RUNNING,
    STOPPED,
    STOPPING,
    JobSnapshot,
    TrainingJob,
    shared_pool,
)
from aecore.jobs.service import MAX_EPOCHS_LIMIT, ClassLimits
from aecore.pixels import png_bytes
from aecore.ui import navigation
from aecore.ui.identity import my_job, my_owner
from aecore.ui.page_state import COMPARE_RUNS
from aecore.ui.shared_resources import job_service
from aecore.viz import stacked_rows, to_pil

REFRESH_S = 4.0  # how often an open board redraws
MAX_ROWS = 60  # runs drawn at most (a class is about 30)
STRIP_IMAGES = 6  # test images per strip, over their reconstructions
STRIP_HEIGHT = 60  # pixels of a strip (two rows of images)
ROW_HEIGHT = 68
TABLE_KEY = "board_table"  # prefix: the table's key changes when rows leave it, which clears its ticks
SHARE_KEY = "board_share"
_SHOWN_KEY, _GENERATION_KEY = "board_shown", "board_generation"  # session keys: the rows drawn last, the table's

COLUMNS = {
    "Name": st.column_config.TextColumn("Name", pinned=True),
    "Status": st.column_config.TextColumn("Status"),
    "Reconstructions": st.column_config.ImageColumn("Reconstructions", width="medium",
                                                    help="A few unseen test images (top) and the model's "
                                                         "reconstructions of them (bottom), as last sent"),
    "Train loss": st.column_config.NumberColumn("Train loss", format="%.4f", width="small"),
    "Val loss": st.column_config.NumberColumn("Val loss", format="%.4f", width="small",
                                              help="on the validation split"),
    "Preset": st.column_config.TextColumn("Preset", width="small"),
    "Model": st.column_config.TextColumn("Model", width="small"),
    "Latent": st.column_config.NumberColumn("Latent", format="%d", width="small"),
    "Noise": st.column_config.TextColumn("Noise", help="the noise added to the inputs while training"),
    "β": st.column_config.TextColumn("β", width="small", help="KL weight of a VAE, or sparsity weight"),
    "Dataset": st.column_config.TextColumn("Dataset", width="small"),
    "Epochs": st.column_config.NumberColumn("Epochs", format="%d", width="small"),
}


@dataclass(frozen=True)
class BoardRow:
    """One run on the board: its entry and the snapshot the row is drawn from; ``mine``: the viewer's own run."""

    entry: BoardEntry
    snapshot: JobSnapshot
    mine: bool = False

    @property
    def name(self) -> str:
        return f"{self.entry.name} (you)" if self.mine else self.entry.name

    def cells(self) -> dict:
        """The row's table cells: name, status, strip, losses and settings."""
        train, val = latest_losses(self.snapshot)
        preview = self.snapshot.preview
        return {"Name": self.name, "Status": status_text(self.snapshot, self.entry.ended),
                "Reconstructions": strip_url(preview) if preview is not None else None,
                "Train loss": train, "Val loss": val, **settings_cells(self.snapshot.config, self.snapshot.epochs)}


def board_rows(mine: TrainingJob | None = None) -> tuple[list[BoardRow], int]:
    """The runs to draw (at most :data:`MAX_ROWS`, each in the place it first took), and how many more there are.

    A session that has not started a run is not listed; nor is a run on someone's own images unless its owner
    shares it."""
    rows = []
    for entry in BOARD.entries():
        snapshot = entry.job.snapshot()
        if snapshot.config is not None and entry.shown(snapshot.config):
            rows.append(BoardRow(entry, snapshot, entry.job is mine))
    order = _listing_order([row.entry.id for row in rows])
    rows.sort(key=lambda row: order[row.entry.id])
    return rows[:MAX_ROWS], max(0, len(rows) - MAX_ROWS)


def status_text(snapshot: JobSnapshot, ended: bool = False) -> str:
    """``queued (2nd in line)``, ``running epoch 3 of 10`` (``· shared by 4`` when one run trains for several
    students), ``finished 10 epochs``, ``stopped at epoch 4 of 10``..."""
    status, epoch, epochs = snapshot.status, snapshot.epoch, snapshot.epochs
    if status == QUEUED:
        text = f"queued ({snapshot.place_in_line} in line)" if snapshot.place_in_line else "queued"
    elif status in (LOADING, RUNNING):
        text = f"running epoch {min(epoch + 1, epochs)} of {epochs}"
        if snapshot.watchers > 1:
            text += f" · shared by {snapshot.watchers}"
    elif status == STOPPING:
        text = "stopping"
    elif status == FINISHED:
        text = f"finished {counted(epoch, 'epoch')}"
    elif status == STOPPED:
        text = f"stopped at epoch {epoch} of {epochs}"
    elif status == FAILED:
        text = "failed"
    else:
        text = status
    return f"{text} · left" if ended else text


def latest_losses(snapshot: JobSnapshot) -> tuple[float | None, float | None]:
    """(train, validation) total loss of the last finished epoch; the last step's loss as train before that."""
    if snapshot.history:
        record = snapshot.history[-1]
        return (record["train"] or {}).get("total"), (record["val"] or {}).get("total")
    return (snapshot.step_losses[-1][1] if snapshot.step_losses else None), None


def settings_cells(config: RunConfig, epochs: int) -> dict:
    """The settings a class compares: preset, architecture, latent size, noise, beta, dataset, epochs."""
    objective, data = config.objective, config.data
    if config.model.variational:
        beta = f"KL {objective.kl_beta:g}"
    elif objective.sparsity != "none":
        beta = f"sparsity {objective.sparsity_beta:g}"
    else:
        beta = "—"
    dataset = "own images" if uses_own_images(config) else data.name  # a folder's path is nobody's business
    if data.classes:
        dataset += f" ({', '.join(map(str, data.classes))})"
    return {"Preset": config.preset or "custom", "Model": model_name(config.model),
            "Latent": config.model.latent_dim, "Noise": training_noise(objective), "β": beta, "Dataset": dataset,
            "Epochs": epochs or config.train.epochs}


_strips: OrderedDict[int, tuple[Preview, str]] = OrderedDict()  # id(preview) -> (the preview, its strip)
_first_seen: dict[int, int] = {}  # entry id -> when a run of it was first listed
_order = itertools.count()
_cache_lock = threading.Lock()


def strip_url(preview: Preview) -> str:
    """A PNG data URL: the preview's first test images over their reconstructions, :data:`STRIP_HEIGHT` high.
    Encoded once per preview (kept for the most recent :data:`MAX_ROWS` * 2 previews)."""
    with _cache_lock:
        cached = _strips.get(id(preview))
        if cached is not None and cached[0] is preview:
            return cached[1]
    image = to_pil(stacked_rows(preview.test_inputs[:STRIP_IMAGES], preview.test_recons[:STRIP_IMAGES]))
    factor = STRIP_HEIGHT / image.height
    if factor >= 2:
        image = image.resize((image.width * int(factor), image.height * int(factor)), Image.NEAREST)
    elif factor < 1:
        image = image.resize((max(1, round(image.width * factor)), STRIP_HEIGHT), Image.LANCZOS)
    url = "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")
    with _cache_lock:
        _strips[id(preview)] = preview, url  # holding the preview keeps its id from being reused
        while len(_strips) > MAX_ROWS * 2:
            _strips.popitem(last=False)
    return url


def _listing_order(entry_ids: list[int]) -> dict[int, int]:
    """When each entry's run was first listed (by any viewer): a run keeps its place, and new runs come last."""
    with _cache_lock:
        if len(_first_seen) > 2 * len(entry_ids) + MAX_ROWS:  # forget the runs that left (ids are never reused)
            for gone in set(_first_seen) - set(entry_ids):
                del _first_seen[gone]
        return {entry_id: _first_seen.setdefault(entry_id, next(_order)) for entry_id in entry_ids}


def compare_refusal(picked: list[BoardRow]) -> str | None:
    """Why the ticked runs cannot open in Compare now; None when they can."""
    if len(picked) != 2:
        return ("Tick two runs in the table to open them side by side in Compare." if len(picked) < 2
                else f"Tick only two runs: {len(picked)} are ticked.")
    for row in picked:
        if row.snapshot.active:
            return f"{row.entry.name} is still training: Compare can open it once it finishes or is stopped."
        if row.entry.job.model_folder() is None:
            return (f"{row.entry.name}'s tab was closed: its run is gone." if row.entry.ended
                    else f"{row.entry.name} has no trained model yet.")
    return None


def compare_folder(row: BoardRow) -> Path:
    """A run folder of ``row``'s model that Compare can read (a copy the board keeps; see :mod:`aecore.class_board`)."""
    source = row.entry.job.model_folder()
    if source is None:
        raise AecoreError(f"{row.entry.name} has no model to compare")
    return BOARD.compare_copy(row.entry, source, f"{row.entry.name}, epoch {row.snapshot.epoch}")


def draw_board(mine: TrainingJob | None) -> None:
    """The table of runs, with a tick box per row, and the button that opens two ticked runs in Compare."""
    rows, more = board_rows(mine)
    if not rows:
        st.info("No runs yet: a run appears here as soon as someone presses Start on the Train page.")
        return
    ids = [row.entry.id for row in rows]
    before = st.session_state.get(_SHOWN_KEY, [])
    if ids[:len(before)] != before:  # rows left or moved: the ticks would land on other runs
        st.session_state[_GENERATION_KEY] = st.session_state.get(_GENERATION_KEY, 0) + 1
    st.session_state[_SHOWN_KEY] = ids
    table = st.dataframe([row.cells() for row in rows], key=f"{TABLE_KEY}_{st.session_state.get(_GENERATION_KEY, 0)}",
                         on_select="rerun", selection_mode="multi-row", hide_index=True, column_config=COLUMNS,
                         row_height=ROW_HEIGHT, height=38 + ROW_HEIGHT * min(len(rows), 10))
    picked = [rows[i] for i in table["selection"]["rows"] if i < len(rows)]
    if more:
        st.caption(f"{more} more runs are not drawn: the board shows the first {MAX_ROWS}.")
    refusal = compare_refusal(picked)
    button, note = st.columns([1.2, 3], vertical_alignment="center")  # the label whole at 1024 px
    if button.button("Open in Compare", type="primary", icon=":material/compare:", disabled=refusal is not None,
                     key="board_open", width="stretch") and refusal is None:
        try:
            folders = [compare_folder(row) for row in picked]
        except (AecoreError, OSError, KeyError) as exc:
            st.error(f"Could not open them in Compare: {exc}")
        else:
            for side, folder in zip(COMPARE_RUNS, folders, strict=True):
                st.session_state[side.key] = folder
            st.switch_page(navigation.COMPARE.path)
    note.caption(refusal or f"Opens **{picked[0].entry.name}** and **{picked[1].entry.name}** side by side.")


def share_toggle() -> bool:
    """A checkbox (key ``board_share``) that lets the class board show this session's runs on its own images, with a
    few of them and their reconstructions; off until ticked. For the page where those runs are trained."""
    job = my_job()
    shared = st.checkbox("Show my runs on these images on the class board", value=BOARD.is_shared(job),
                         key=SHARE_KEY, help=f"Off: the class board does not list them. On: it lists them as "
                                             f"**{BOARD.name_of(job)}**, with a few of your test images and their "
                                             "reconstructions, and the teacher can open them in Compare.")
    if shared != BOARD.is_shared(job):
        job_service().set_shared(my_owner(), shared)  # kept across restarts
    return shared


def class_limits() -> None:
    """The class's limits as everyone sees them, and, for the teacher alone, a form to change them."""
    service, owner = job_service(), my_owner()
    limits = service.limits()
    workers = shared_pool().slots.get("cpu", 1)
    st.caption(f"Class limits: a student's run trains at most **{counted(limits.max_epochs, 'epoch')}** at a time · "
               f"{counted(workers, 'training worker')}: every run trains at once, in turns, and the "
               "same settings started by several students train once for all of them.")
    if not owner.is_teacher:
        return
    with st.popover("Change the limits", icon=":material/tune:"):
        epochs = st.number_input("Most epochs a student's run trains", 1, MAX_EPOCHS_LIMIT, limits.max_epochs,
                                 key="board_max_epochs")
        if st.button("Apply", key="board_limits_apply", type="primary"):
            try:
                service.set_limits(owner, ClassLimits(max_epochs=int(epochs)))
            except AecoreError as exc:
                st.error(str(exc))
            else:
                st.rerun()

