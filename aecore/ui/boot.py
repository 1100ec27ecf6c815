"""Importing what the pages use, once per server process, before any page's script runs.

Measured: Plotly looks pandas up in ``sys.modules`` and fails on a half-imported
one, so a session's script that ran while another thread was importing pandas
raised ``partially initialized module 'pandas'``. ``serve.py`` starts
:func:`import_in_background` as its server starts (the browser loads the page
meanwhile), and ``app.py`` calls :func:`wait_until_imported` before it imports
anything else, so no script runs before every import is complete.

This module imports only the standard library: ``serve.py`` imports it before torch is loaded.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading

log = logging.getLogger(__name__)

# not streamlit_drawable_canvas: it registers itself with a running server
THIRD_PARTY_PAGE_MODULES = ("torch", "numpy", "pandas", "plotly.graph_objects", "plotly.express", "PIL.Image",
                            "streamlit")
_done = threading.Event()  # the third-party modules are imported: scripts may run
_lock = threading.Lock()
_thread: threading.Thread | None = None


def _import_third_party() -> bool:
    """Import the third-party page modules and let scripts run; False if that was done before."""
    with _lock:
        if _done.is_set():
            return False
        try:
            for name in THIRD_PARTY_PAGE_MODULES:
                importlib.import_module(name)
        finally:
            _done.set()  # a failed import shows up where the page imports it, with its own traceback
        return True


def _import_dashboard_modules() -> None:
    ui = importlib.import_module("aecore.ui")
    for module in pkgutil.walk_packages(ui.__path__, prefix="aecore.ui."):
        importlib.import_module(module.name)


def import_page_modules() -> None:
    """Import every module the pages use in this thread (later calls return at once).

    Scripts may run once the third-party modules are in: those are what other libraries peek at in
    ``sys.modules`` (Plotly at pandas and numpy). The dashboard's own modules follow; a script importing
    one of them meanwhile waits on Python's per-module import lock, which is safe.
    """
    if _import_third_party():
        _import_dashboard_modules()


def _import_then_preload() -> None:
    if _import_third_party():
        importlib.import_module("aecore.ui.startup").preload_in_background()  # Home's test images, meanwhile
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
    """Block until scripts may run: the background thread's third-party imports, or all imports done here."""
    if _thread is not None:
        _done.wait()
        return
    import_page_modules()
