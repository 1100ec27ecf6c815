"""Importing what the pages use, once per server process, so that no Plotly figure races an import.

Measured: Plotly looks pandas up in ``sys.modules`` and fails on a half-imported
one, so a session's script that drew a figure while another thread was importing
pandas raised ``partially initialized module 'pandas'``. ``serve.py`` starts
:func:`import_in_background` as its server starts (the browser loads the page
meanwhile), torch first. ``app.py`` calls :func:`wait_until_imported` before a
page that draws Plotly figures runs, so no figure is drawn before every
third-party import is complete. Home draws none, so a fresh server's first page
does not wait for pandas and Plotly (about 0.8 s on 2 cores); a script importing
a module the thread is still importing waits on Python's per-module import lock,
which is safe.

This module imports only the standard library: ``serve.py`` imports it before torch is loaded.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading

log = logging.getLogger(__name__)

# torch first: the first page needs it; not streamlit_drawable_canvas: it registers itself with a running server
THIRD_PARTY_PAGE_MODULES = ("torch", "PIL.Image", "numpy", "pandas", "plotly.graph_objects", "plotly.express",
                            "streamlit")
_done = threading.Event()  # the third-party modules are imported: figures may be drawn
_lock = threading.Lock()
_thread: threading.Thread | None = None


def one_blas_thread() -> None:
    """Let numpy's BLAS (OpenBLAS) use one thread in this process, for good.

    A server runs many sessions' scripts at once, and OpenBLAS's own threads, started for every call, fight over
    the cores: measured on 2 cores, the PCA of a 1,000 x 32 code sample (the live latent map of every training
    page, each redraw) took 1.4 ms alone and 490 ms per call with ten threads calling at once; with one BLAS
    thread, 1.1 ms. A class's pages spent 39 % of the server's time there. Worker processes keep their own.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def _import_third_party() -> bool:
    """Import the third-party page modules and let figures be drawn; False if that was done before."""
    with _lock:
        if _done.is_set():
            return False
        try:
            for name in THIRD_PARTY_PAGE_MODULES:
                importlib.import_module(name)
            one_blas_thread()
        finally:
            _done.set()  # a failed import shows up where the page imports it, with its own traceback
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
    importlib.import_module("torch")
    importlib.import_module("aecore.ui.startup").preload_in_background()  # Home's test images, meanwhile
    if _import_third_party():
        _import_dashboard_modules()


def import_in_background() -> threading.Thread | None:
    """In a daemon thread, once per process (None if already started): :func:`import_page_modules`, then
    read the test images Home shows (:func:`aecore.ui.startup.preload_in_background`)."""
    global _thread
    if _thread is not None or _done.is_set():
        return None
    _thread = threading.Thread(target=_import_then_preload, name="aecore-imports", daemon=True)
    _thread.start()
    return _thread


def wait_until_imported() -> None:
    """Block until Plotly figures may be drawn: the background thread's third-party imports, or all imports
    done here."""
    if _thread is not None:
        _done.wait()
        return
    import_page_modules()
