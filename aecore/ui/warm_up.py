"""The server's warm-up: what a server process does once, in background threads, so that no page waits for it.

Its stages, in the order they happen:

1. Server start: ``serve.py`` imports this module in a thread of its own as its server starts (torch and the
   engine's modules first: the server answers and the browser loads the page meanwhile), then calls
   :func:`import_in_background`: a daemon thread starts the preload (2), imports the third-party modules the
   pages use (pandas, Plotly, ...), lets numpy's BLAS use one thread (:func:`one_blas_thread`), and imports the
   dashboard's own modules.
2. Preload (:func:`preload_in_background`), meanwhile: start the job service (runs a restart interrupted go on
   at once, with no browser open; the class's links are printed on the console), then read the test images
   Home shows first.
3. A few seconds after a first page: ``app.py`` calls :func:`warm_up_pages_in_background` as its first page
   starts, and PAGES_WARM_UP_DELAY_S later, once that page is drawn, the pages' warm-up loads the default run's
   whole dataset, runs the pages' own warm-up steps (the shared caches of a first look at Explore), starts a
   training worker process (torch imported, the data loaded) and a projection worker, compiles UMAP's numba code
   and imports openTSNE.

Why the imports come first: Plotly looks pandas up in ``sys.modules`` and fails on a half-imported one, so a
session's script that drew a figure while another thread was importing pandas raised ``partially initialized
module 'pandas'``. ``app.py`` calls :func:`wait_until_imported` before a page that draws Plotly figures runs, so
no figure is drawn before every third-party import is complete. Home draws none, so a fresh server's first page
does not wait for pandas and Plotly (about 0.8 s on 2 cores); a script importing a module the thread is still
importing waits on Python's per-module import lock, which is safe. ``streamlit run app.py`` works too, without
stages 1 and 2: its first page that draws figures does the imports itself (:func:`wait_until_imported`), a second
or so slower.

Each stage runs at most once per process. The tests' AppTest runs of ``app.py`` turn the pages' warm-up off
(:data:`warm_up_pages`, set by tests/conftest.py): every pytest worker would otherwise load MNIST, start worker
processes and compile UMAP beside the tests; tests/test_startup.py runs it in a process of its own.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import socket
import threading
import time
from collections.abc import Callable

import streamlit as st
from threadpoolctl import threadpool_limits

from aecore.checkpoints import load_run
from aecore.data import load_test_pixels
from aecore.jobs import LocalPool, SlicedPool, shared_pool
from aecore.jobs.projection_work import shared_projections
from aecore.projection import warm_up_tsne, warm_up_umap
from aecore.ui.shared_resources import job_service, shared_dataset
from aecore.ui.widgets import DEFAULT_RUN

log = logging.getLogger(__name__)

# torch first: the first page needs it; not streamlit_drawable_canvas: it registers itself with a running server
THIRD_PARTY_PAGE_MODULES = ("torch", "PIL.Image", "numpy", "pandas", "plotly.graph_objects", "plotly.express",
                            "streamlit")
PAGES_WARM_UP_DELAY_S = 8.0  # the first page is drawn before worker processes compete for the CPU
WARM_UP_ENV = "AECORE_WARM_UP"  # 0: this server does not warm the pages up (the browser tests that need no map)
# False: warm_up_pages_in_background starts nothing in this process (the tests' AppTest runs, AECORE_WARM_UP=0)
warm_up_pages = os.environ.get(WARM_UP_ENV, "1") != "0"

_imported = threading.Event()  # the third-party modules are imported: figures may be drawn
_imports_lock = threading.Lock()
_imports_thread: threading.Thread | None = None
_started: set[str] = set()  # the names of the background stages started in this process
_started_lock = threading.Lock()


# 1. Server start: the imports


def one_blas_thread() -> None:
    """Let numpy's BLAS (OpenBLAS) use one thread in this process, for good.

    A server runs many sessions' scripts at once, and OpenBLAS's own threads, started for every call, fight over
    the cores: measured on 2 cores, the PCA of a 1,000 x 32 code sample (the live latent map of every training
    page, each redraw) took 1.4 ms alone and 490 ms per call with ten threads calling at once; with one BLAS
    thread, 1.1 ms. A class's pages spent 39 % of the server's time there. Worker processes keep their own.
    """
    threadpool_limits(1, user_api="blas")


def _import_third_party() -> bool:
    """Import the third-party page modules and let figures be drawn; False if that was done before."""
    with _imports_lock:
        if _imported.is_set():
            return False
        try:
            for name in THIRD_PARTY_PAGE_MODULES:
                importlib.import_module(name)
            one_blas_thread()
        finally:
            _imported.set()  # a failed import shows up where the page imports it, with its own traceback
        return True


def _import_dashboard_modules() -> None:
    ui = importlib.import_module("aecore.ui")
    for module in pkgutil.walk_packages(ui.__path__, prefix="aecore.ui."):
        importlib.import_module(module.name)


def import_page_modules() -> None:
    """Import every module the pages use in this thread (later calls return at once).

    Figures may be drawn once the third-party modules are in: those are what other libraries peek at in
    ``sys.modules`` (Plotly at pandas and numpy). The dashboard's own modules follow; a script importing
    one of them meanwhile waits on Python's per-module import lock, which is safe.
    """
    if _import_third_party():
        _import_dashboard_modules()


def _import_then_preload() -> None:
    preload_in_background()  # Home's test images, meanwhile
    if _import_third_party():
        _import_dashboard_modules()


def import_in_background() -> threading.Thread | None:
    """In a daemon thread, once per process (None if already started): :func:`import_page_modules`, after
    starting the preload (:func:`preload_in_background`: the job service, then the test images Home shows)."""
    global _imports_thread
    if _imports_thread is not None or _imported.is_set():
        return None
    _imports_thread = threading.Thread(target=_import_then_preload, name="aecore-imports", daemon=True)
    _imports_thread.start()
    return _imports_thread


def wait_until_imported() -> None:
    """Block until Plotly figures may be drawn: the background thread's third-party imports, or all imports
    done here."""
    if _imports_thread is not None:
        _imported.wait()
        return
    import_page_modules()


# 2. The preload and 3. the pages' warm-up, each in a daemon thread of its own


def _once_in_background(name: str, *steps: Callable[[], None], delay_s: float = 0.0) -> threading.Thread | None:
    """Run ``steps`` one after the other in a daemon thread named after ``name``, once per process; a step
    that fails is logged and the next one still runs."""
    with _started_lock:
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


def _default_run():
    return DEFAULT_RUN if DEFAULT_RUN.is_dir() else None


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
