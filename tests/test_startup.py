"""The server's background warm-up, and serve.py as the app's ASGI entry point."""

import subprocess
import sys
from pathlib import Path

import torch

from aecore.config import DataConfig
from aecore.data import load_dataset, load_test_pixels

ROOT = Path(__file__).resolve().parent.parent


def test_preload_reads_homes_test_images_once_per_process_and_the_pages_warm_up_separately():
    code = (
        "import sys\n"
        "from aecore.ui import startup\n"
        "assert 'torch' not in sys.modules  # importing the module starts nothing\n"
        "thread = startup.preload_in_background()\n"
        "assert startup.preload_in_background() is None  # once per process\n"
        "thread.join(120)\n"
        "import aecore.data as d\n"
        "assert 'torch' in sys.modules and 'umap' not in sys.modules and 'torch._dynamo' not in sys.modules\n"
        "assert d._read_idx_split.cache_info().currsize == 1  # the test files only, not the training set\n"
        "thread = startup.warm_up_pages_in_background()\n"
        "assert startup.warm_up_pages_in_background() is None\n"
        "thread.join(300)\n"
        "assert 'umap' in sys.modules and 'openTSNE' in sys.modules and 'torch._dynamo' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=400, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_a_failed_warm_up_is_logged_not_raised(caplog):
    from aecore.ui import startup

    def broken() -> None:
        raise OSError("disk gone")

    thread = startup._once_in_background("test-broken", broken)
    thread.join(10)
    assert "background test-broken failed" in caplog.text and "disk gone" in caplog.text
    assert startup._once_in_background("test-broken", broken) is None


def test_test_pixels_are_the_datasets_test_split_before_normalisation():
    for config in (DataConfig(name="mnist", classes=(1, 7)),
                   DataConfig(name="digits", normalization="standard", classes=(0, 3))):
        pixels, dataset = load_test_pixels(config), load_dataset(config)
        assert pixels.y.tolist() == dataset.test.y.tolist() and set(pixels.y.tolist()) == set(config.classes)
        torch.testing.assert_close(pixels.x, dataset.normalizer.inverse(dataset.test.x))
        assert float(pixels.x.min()) >= 0.0 and float(pixels.x.max()) <= 1.0


def test_serve_py_is_an_asgi_app_that_streamlit_runs():
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "serve.py")
    assert found.is_asgi_app
