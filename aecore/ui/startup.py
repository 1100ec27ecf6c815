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

log = logging.getLogger(__name__)

PAGES_WARM_UP_DELAY_S = 3.0  # lets the browser fetch and draw the first page's images before this starts
_started: set[str] = set()
_lock = threading.Lock()


def _once_in_background(name: str, target, delay_s: float = 0.0) -> threading.Thread | None:
    with _lock:
        if name in _started:
            return None
        _started.add(name)

    def guarded() -> None:
        time.sleep(delay_s)
        try:
            target()
        except Exception:  # a failed warm-up only loses time: the page that needs the thing does it again
            log.warning("background %s failed", name, exc_info=True)

    thread = threading.Thread(target=guarded, name=f"aecore-{name}", daemon=True)
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


def _warm_up_pages() -> None:
    import torch

    from aecore.checkpoints import load_run
    from aecore.projection import warm_up_tsne, warm_up_umap
    from aecore.ui.loaders import shared_dataset
    from aecore.ui.widgets import DEFAULT_RUN

    if DEFAULT_RUN.is_dir():
        shared_dataset(load_run(DEFAULT_RUN).config.data)  # the whole dataset the map and Train pages use
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # the first optimiser imports torch._dynamo: 1.3 s
    warm_up_umap()
    warm_up_tsne()


def warm_up_pages_in_background() -> threading.Thread | None:
    """In a daemon thread, after PAGES_WARM_UP_DELAY_S, once per process (None if already started): load the
    default run's dataset, make the first optimiser, compile UMAP and import openTSNE."""
    return _once_in_background("pages-warm-up", _warm_up_pages, delay_s=PAGES_WARM_UP_DELAY_S)
