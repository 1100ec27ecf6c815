"""The server's background warm-up, and serve.py as the app's ASGI entry point."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aecore.config import DataConfig
from aecore.data import load_dataset, load_test_pixels
from aecore.ui.widgets import DEFAULT_RUN

ROOT = Path(__file__).resolve().parent.parent


def _run_in_a_fresh_process(code: str, timeout: float) -> None:
    """Run ``code`` in a new Python process from the project root; fail with its stderr if it fails."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not DEFAULT_RUN.is_dir(), reason="needs the shipped MNIST runs (make checkpoints)")
def test_the_page_modules_are_imported_up_front_and_the_warm_ups_run_once_per_process():
    code = (
        "import sys\n"
        "from aecore.ui import warm_up\n"
        "warm_up.import_page_modules()\n"
        "assert {'pandas', 'plotly.graph_objects', 'aecore.ui.charts', 'aecore.ui.live'} <= set(sys.modules)\n"
        "from threadpoolctl import threadpool_info\n"  # many scripts call numpy at once: one BLAS thread (warm_up.py)
        "assert {p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas'} == {1}\n"
        "thread = warm_up.preload_in_background()\n"
        "assert warm_up.preload_in_background() is None  # once per process\n"
        "thread.join(120)\n"
        "import aecore.data as d\n"
        "assert 'umap' not in sys.modules\n"
        "assert d._read_idx_split_cached.cache_info().currsize == 1  # the test files only, not the training set\n"
        "thread = warm_up.warm_up_pages_in_background()\n"
        "assert warm_up.warm_up_pages_in_background() is None\n"
        "thread.join(300)\n"
        "assert 'umap' in sys.modules and 'openTSNE' in sys.modules\n"
        "from aecore.jobs import shared_pool\n"
        "assert shared_pool()._workers[0].process.is_alive()  # a training worker is up\n"
        "shared_pool().shutdown()\n"
    )
    _run_in_a_fresh_process(code, timeout=400)


def test_a_failed_warm_up_step_is_logged_not_raised_and_the_next_step_still_runs(caplog):
    from aecore.ui import warm_up

    ran = []

    def broken() -> None:
        raise OSError("disk gone")

    thread = warm_up._once_in_background("test-broken", broken, lambda: ran.append(True))
    thread.join(10)
    assert "background test-broken: broken failed" in caplog.text and "disk gone" in caplog.text
    assert ran == [True]
    assert warm_up._once_in_background("test-broken", broken) is None


def test_test_pixels_are_the_datasets_test_split_before_normalisation():
    for config in (DataConfig(name="mnist", classes=(1, 7)),
                   DataConfig(name="digits", normalization="standard", classes=(0, 3))):
        pixels, dataset = load_test_pixels(config), load_dataset(config)
        assert pixels.y.tolist() == dataset.test.y.tolist() and set(pixels.y.tolist()) == set(config.classes)
        torch.testing.assert_close(pixels.x, dataset.normalizer.inverse(dataset.test.x))
        assert float(pixels.x.min()) >= 0.0 and float(pixels.x.max()) <= 1.0


def test_serve_py_is_an_asgi_app_whose_start_up_starts_the_imports_in_the_background():
    from streamlit.web.server.app_discovery import discover_asgi_app

    assert discover_asgi_app(ROOT / "serve.py").is_asgi_app
    code = (  # in its own process: constructing an st.App pins process-wide Streamlit config
        "import asyncio, serve\n"
        "started = []\n"
        "import sys, threading\n"
        "assert 'torch' not in sys.modules  # the server answers before torch is imported\n"
        "serve._warm_up = lambda: started.append('imports, then preload')\n"
        "async def start_and_stop():\n"
        "    async with serve._lifespan(serve.app):\n"
        "        [t.join(10) for t in threading.enumerate() if t.name == 'aecore-warm-up-import']\n"
        "        assert started == ['imports, then preload']\n"
        "asyncio.run(start_and_stop())\n"
    )
    _run_in_a_fresh_process(code, timeout=120)


def test_test_pixels_are_copies_never_the_cached_raw_tensors():
    first = load_test_pixels(DataConfig(name="mnist"))
    first.x.zero_()
    assert float(load_test_pixels(DataConfig(name="mnist")).x.max()) == 1.0


def test_a_script_waits_for_the_background_imports_and_without_them_imports_itself():
    code = (
        "import sys, threading\n"
        "from aecore.ui import warm_up\n"
        "assert 'pandas' not in sys.modules  # the pages' libraries come after, in the thread\n"
        "thread = warm_up.import_in_background()\n"
        "assert warm_up.import_in_background() is None  # once per process\n"
        "warm_up.wait_until_imported()  # what app.py does first\n"
        "assert {'torch', 'pandas', 'plotly.express'} <= set(sys.modules)  # what Plotly peeks at\n"
        "import pandas; assert hasattr(pandas, 'Series')  # complete, not partially initialised\n"
        "thread.join(120)\n"
        "assert {'aecore.ui.charts', 'aecore.ui.live'} <= set(sys.modules)  # the dashboard's own, after\n"
        "assert warm_up.preload_in_background() is None  # it started the preload\n"
        "[t.join(120) for t in threading.enumerate() if t.name == 'aecore-preload']\n"
    )
    _run_in_a_fresh_process(code, timeout=120)


def test_the_warm_up_hides_only_its_own_threads_missing_context_warnings(caplog):
    import logging
    import threading

    from aecore.ui.cache import NO_CONTEXT_LOGGER, outside_a_script

    logger = logging.getLogger(NO_CONTEXT_LOGGER)
    with caplog.at_level(logging.WARNING, logger=NO_CONTEXT_LOGGER), outside_a_script():
        logger.warning("from the warm-up")
        other = threading.Thread(target=logger.warning, args=("from a session",))
        other.start()
        other.join()
    logger.warning("after the warm-up")
    assert [record.getMessage() for record in caplog.records if record.name == NO_CONTEXT_LOGGER] == [
        "from a session", "after the warm-up"]


def test_the_tests_turn_the_pages_warm_up_off_in_their_own_process():
    """AppTest runs of app.py (tests/conftest.py): no warm-up thread, no worker processes in the pytest worker."""
    from aecore.ui import warm_up

    assert warm_up.warm_up_pages is False
    assert warm_up.warm_up_pages_in_background() is None
    assert "pages-warm-up" not in warm_up._started

