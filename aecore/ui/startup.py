"""Work done once per server process in background threads, so that no page waits for it.

- :func:`preload_in_background` imports the dashboard's modules (torch among
  them, ~2 s) and reads the test images Home shows first. ``serve.py`` starts
  it as the server starts, while the first browser is still loading the page.
- :func:`warm_up_pages_in_background` loads the default run's whole dataset,
  makes a first optimiser (torch imports its compiler then), compiles UMAP's
  numba code and imports openTSNE. ``app.py`` starts it a few seconds after a
  page has been drawn, so that it does not compete with the first page for the
  CPU, and neither the first Start nor the first map stalls.

Both run at most once per process. This module imports nothing heavy itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

PAGES_WARM_UP_DELAY_S = 3.0  # lets the browser fetch and draw the first page's images before this starts
_started: set[str] = set()
_lock = threading.Lock()


def _once_in_background(name: str, *steps: Callable[[], None], delay_s: float = 0.0) -> threading.Thread | None:
    """Run ``steps`` one after the other in a daemon thread named after ``name``, once per process; a step
    that fails is logged and the next one still runs."""
    with _lock:
        if name in _started:
            return None
        _started.add(name)

    def run_steps() -> None:
        time.sleep(delay_s)
        for step in steps:
            try:
                step()
            except Exception:  # a failed warm-up only loses time: the page that needs it does it again
                log.warning("background %s: %s failed", name, step.__name__, exc_info=True)

    thread = threading.Thread(target=run_steps, name=f"aecore-{name}", daemon=True)
    thread.start()
    return thread


def _preload() -> None:
    import aecore.ui.loaders  # noqa: F401  (torch, streamlit's elements and the engine)
    from aecore.checkpoints import load_run
    from aecore.data import load_test_pixels
    from aecore.ui.widgets import DEFAULT_RUN

    if DEFAULT_RUN.is_dir():
        load_test_pixels(load_run(DEFAULT_RUN).config.data)  # the test images Home shows first


def preload_in_background() -> threading.Thread | None:
    """Import the dashboard and read Home's test images in a daemon thread, once per process
    (None if already started)."""
    return _once_in_background("preload", _preload)


def _load_default_dataset() -> None:
    from aecore.checkpoints import load_run
    from aecore.ui.loaders import shared_dataset
    from aecore.ui.widgets import DEFAULT_RUN

    if DEFAULT_RUN.is_dir():
        shared_dataset(load_run(DEFAULT_RUN).config.data)  # the whole dataset the map and Train pages use


def _make_an_optimiser() -> None:
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # the first optimiser imports torch._dynamo: 1.3 s


def _warm_up_umap() -> None:
    from aecore.projection import warm_up_umap

    warm_up_umap()


def _warm_up_tsne() -> None:
    from aecore.projection import warm_up_tsne

    warm_up_tsne()


def warm_up_pages_in_background() -> threading.Thread | None:
    """In a daemon thread, after PAGES_WARM_UP_DELAY_S, once per process (None if already started): load the
    default run's dataset, make the first optimiser, compile UMAP and import openTSNE."""
    return _once_in_background("pages-warm-up", _load_default_dataset, _make_an_optimiser, _warm_up_umap,
                               _warm_up_tsne, delay_s=PAGES_WARM_UP_DELAY_S)
