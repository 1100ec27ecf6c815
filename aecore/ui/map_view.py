"""A latent map on a page: which images it shows, a t-SNE or UMAP map that redraws as its layout converges,
and what a pick on it shows.

:func:`points_choice` chooses the images (the test split or every split, and
how many). A page asks :func:`map_now` for the map to draw and draws it with
:func:`show_map`. While the map's background job runs, ``show_map`` is an
``st.fragment`` polling the job every POLL_S seconds: it redraws the layout so
far (the PCA map before the first frame; a large map's layouts as a sample of
its points, see :func:`aecore.latent_map.provisional_map`) under a progress
line and a Stop button, and reruns the page once the job has ended. A pick on the live map
reruns the page too, so the rest of the page follows it. Stop stops the job
for this session (the job goes on while another session watches it); the page
then keeps the layout it had and offers to compute the map again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from aecore.jobs.projection_work import ProjectionJob, shared_projections, status_line
from aecore.latent import LatentPlane
from aecore.latent_map import DEFAULT_MAP_SIZE, MAP_SPLITS, PLANE_MODES, LatentMap, MapPoints
from aecore.projection import METHODS
from aecore.projection_cache import ProjectionKey
from aecore.ui import cache, state_widgets
from aecore.ui.map_pick import MapPick, read_pick
from aecore.ui.neighbours import neighbour_strip
from aecore.ui.state_values import Value
from aecore.ui.widgets import image_strip, interpolation_buttons, show_picture

POLL_S = 1.0  # seconds between two looks at a running job
# Above LARGE_MAP points each redraw sends megabytes to the browser (coordinates, hover data) and a frame takes
# seconds to come: look less often.
LARGE_MAP, POLL_LARGE_S = 10_000, 3.0
STOPPED = "projection_stopped"  # session state: the texts of the map keys this session stopped


def points_choice(container, ref: cache.RunRef, split_value: Value, cap_value: Value) -> tuple[str, int]:
    """Radio buttons choosing the images of a map (MAP_SPLITS, the page's ``split_value``) and a slider of how
    many (``cap_value``, one per choice): the split and the cap for :func:`aecore.ui.cache.map_points`."""
    split = state_widgets.draw(container, split_value, format_func=MAP_SPLITS.get)
    sizes = cache.map_size_options(ref, split)
    return split, state_widgets.draw(container, cap_value, options=sizes, default=min(DEFAULT_MAP_SIZE, sizes[-1]),
                                     format_func="{:,}".format)


def show_pick(ref: cache.RunRef, points: MapPoints, pick: MapPick, plane: LatentPlane | None, key: str,
              neighbours: Value) -> None:
    """What a pick on the map of ``points`` shows: the picked image (or, on a plane map, the image decoded at an
    empty spot) and its nearest training images (how many: the page's ``neighbours``); a hint before anything is
    picked."""
    query = None
    if pick.rows:  # a data point: show the image itself
        row = pick.rows[0]
        query = points.codes[[row]]
        show_picture(st, image_strip(cache.map_pixels(ref, points, [row]), scale=8), width=220,
                     caption=points.name(row))
        if points.splits[row] == 0:  # the Interpolate page takes test images
            interpolation_buttons(int(points.indices[row]), f"{key}_interpolate")
    elif pick.position is not None and plane is not None:  # empty space: decode it
        query = plane.lift(np.array([pick.position]))
        show_picture(st, image_strip(cache.decode_pixels(ref, query), scale=8), width=220,
                     caption=f"decoded at ({pick.position[0]:.2f}, {pick.position[1]:.2f})")
    else:
        st.info("Click anywhere on the map to decode that spot, or drag a box to select images." if plane is not None
                else "Click a point to see its image and neighbours, or drag a box to select images.")
    if query is not None:
        neighbour_strip(ref, query, state_widgets.draw(st, neighbours), scale=3, columns=4)


def _forget(watcher: str) -> None:
    shared_projections().forget(watcher)


@st.cache_resource(scope="session", on_release=_forget)
def session_watcher() -> str:
    """This browser session's name among a job's watchers; it stops watching when the session ends."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class ShownMap:
    """The map to draw now; while its t-SNE or UMAP is computed for this session, the job and how to redraw."""

    map: LatentMap
    key: ProjectionKey | None = None  # the disk cache key of a t-SNE or UMAP map
    job: ProjectionJob | None = None  # set while the job runs (or waits) for this session
    refresh: Callable[[], LatentMap] | None = None  # the map as it is now, without requesting anything

    @property
    def live(self) -> bool:
        return self.job is not None

    @property
    def ended_unfinished(self) -> bool:
        """The map was stopped (here, or for everyone) or failed: it can be computed again."""
        return not self.map.final and self.job is None


def map_now(ref: cache.RunRef, cap: int, mode: str, dims: tuple[int, int] = (0, 1), perplexity: float = 30.0,
            split: str = "test") -> ShownMap:
    """The map of :func:`aecore.ui.cache.latent_map` for this session: its t-SNE or UMAP job is requested (or
    joined) unless this session stopped it."""
    if mode in PLANE_MODES or mode == "pca":
        return ShownMap(cache.latent_map(ref, cap, mode, dims, perplexity, split))
    key = cache.projection_key(ref, cap, mode, perplexity, split)
    stopped = key.text() in st.session_state.get(STOPPED, set())
    the_map = cache.latent_map(ref, cap, mode, dims, perplexity, split, start=not stopped, watcher=session_watcher())
    job = shared_projections().job(key)
    if the_map.final or stopped or job is None or job.status().final:
        return ShownMap(the_map, key)
    return ShownMap(the_map, key, job, lambda: cache.latent_map(ref, cap, mode, dims, perplexity, split, start=False))


def show_map(shown: ShownMap, draw: Callable[[LatentMap], object], pick: MapPick, key: str) -> None:
    """Draw ``shown`` with ``draw`` (which returns the chart's selection event): at once when it is final, else
    live (see the module's description). ``pick``: what the page shows as picked; ``key`` prefixes widget keys."""
    if not shown.live:
        if shown.ended_unfinished:
            st.caption(shown.map.note)
            st.button(f"Compute {METHODS[shown.key.method]} again", key=f"{key}_restart", on_click=_restart,
                      args=(shown.key,), icon=":material/refresh:")
        draw(shown.map)
        return

    @st.fragment(run_every=POLL_S if len(shown.map.points) <= LARGE_MAP else POLL_LARGE_S)
    def live() -> None:
        status = shown.job.status()
        if status.final:
            st.rerun()  # the page draws the finished (or stopped) map
        text_column, stop_column = st.columns([3, 1], vertical_alignment="center")  # "Stop" whole at 1024 px
        frame = shown.refresh()
        sample = ("" if frame.drawn_rows is None else
                  f" · drawing {len(frame.drawn_rows):,} of {len(frame.points):,} points until it ends")
        text_column.progress(status.fraction, text=status_line(shown.key.method, status) + sample)
        stop_column.button("Stop", key=f"{key}_stop", on_click=_stop, args=(shown.key,), icon=":material/stop:")
        fresh = read_pick(draw(frame))
        if (fresh.rows or fresh.position is not None) and fresh != pick:
            st.rerun()  # a pick on the live map: the rest of the page shows it

    live()


def _stop(key: ProjectionKey) -> None:
    st.session_state.setdefault(STOPPED, set()).add(key.text())
    shared_projections().stop(key, session_watcher())


def _restart(key: ProjectionKey) -> None:
    st.session_state.get(STOPPED, set()).discard(key.text())
    shared_projections().clear(key)
