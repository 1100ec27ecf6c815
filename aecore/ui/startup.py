"""Work done once per server process in background threads, so that no page waits for it.

- :func:`preload_in_background` reads the test images Home shows first, while
  the first browser is still loading the page (``aecore.ui.boot`` starts it
  once every page module is imported).
- :func:`warm_up_pages_in_background` loads the default run's whole dataset,
  runs the pages' own warm-up steps (the shared caches of a first look at
  Explore), starts a training worker process (torch imported, the data loaded),
  compiles UMAP's numba code and imports openTSNE. ``app.py`` starts it a few seconds
  after a page has been drawn, so that it does not compete with the first page.

Each runs at most once per process. The tests' AppTest runs of ``app.py`` turn the pages' warm-up off
(:data:`warm_up_pages`, set by tests/conftest.py): every pytest worker would otherwise load MNIST, start worker
processes and compile UMAP beside the tests; tests/test_startup.py runs it in a process of its own.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

import streamlit as st

from aecore.checkpoints import load_run
from aecore.data import load_test_pixels
from aecore.jobs import LocalPool, SlicedPool, shared_pool
from aecore.jobs.projection_work import shared_projections
from aecore.projection import warm_up_tsne, warm_up_umap
from aecore.ui.shared_resources import job_service, shared_dataset
from aecore.ui.widgets import DEFAULT_RUN

log = logging.getLogger(__name__)

PAGES_WARM_UP_DELAY_S = 8.0  # the first page is drawn before worker processes compete for the CPU
WARM_UP_ENV = "AECORE_WARM_UP"  # 0: this server does not warm the pages up (the browser tests that need no map)
# False: warm_up_pages_in_background starts nothing in this process (the tests' AppTest runs, AECORE_WARM_UP=0)
warm_up_pages = os.environ.get(WARM_UP_ENV, "1") != "0"
_started: set[str] = set()
_lock = threading.Lock()


def _default_run():
    return DEFAULT_RUN if DEFAULT_RUN.is_dir() else None


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


def _read_homes_test_images() -> None:
    run = _default_run()
    if run is not None:
        load_test_pixels(load_run(run).config.data)


def lan_address() -> str:
    """This machine's address on its network (what students type), or localhost when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP: picks the outgoing interface, sends nothing
            return probe.getsockname()[0]
        except OSError:
            return "localhost"


def start_job_service() -> None:
    """Make the job service, which puts back every run a restart interrupted (queued and training ones go on), and
    print the class's links on the console, as Jupyter prints its token: the teacher's holds the teacher's key."""
    service = job_service()
    port = st.get_option("server.port")
    print(f"\n  Autoencoder Lab: students open http://{lan_address()}:{port}\n"
          f"  The teacher's link (keep it to yourself): http://localhost:{port}/?present=1&teacher={service.teacher_key}"
          "\n", flush=True)


def preload_in_background() -> threading.Thread | None:
    """In a daemon thread, once per process (None if already started): start the job service (runs a restart
    interrupted go on at once, with no browser open), then read Home's test images."""
    return _once_in_background("preload", start_job_service, _read_homes_test_images)


def _load_default_dataset() -> None:
    run = _default_run()
    if run is not None:
        shared_dataset(load_run(run).config.data)  # the whole dataset the map pages use


def _start_a_training_worker() -> None:
    pool, run = shared_pool(), _default_run()
    if isinstance(pool, LocalPool | SlicedPool):
        pool.warm_up(load_run(run).config.data if run else None)


def _start_a_projection_worker() -> None:
    shared_projections().warm_up()  # its first map then skips ~8 s of importing torch and openTSNE


def warm_up_pages_in_background(*page_steps: Callable[[], None]) -> threading.Thread | None:
    """In a daemon thread, after PAGES_WARM_UP_DELAY_S, once per process (None if already started): load the
    default run's dataset, run ``page_steps`` (the pages' caches to fill), start a training worker and a
    projection worker, compile UMAP and import openTSNE. Nothing (None) while :data:`warm_up_pages` is False."""
    if not warm_up_pages:
        return None
    return _once_in_background("pages-warm-up", _load_default_dataset, *page_steps, _start_a_training_worker,
                               _start_a_projection_worker, warm_up_umap, warm_up_tsne, delay_s=PAGES_WARM_UP_DELAY_S)
