"""Shared test set-up."""

import importlib.util
import os
import sys

import pytest
import torch

from aecore.config import DataConfig, ModelConfig
from aecore.data import load_dataset
from aecore.jobs import LocalPool
from aecore.models import build_model

# The files that take a minute or more of a worker on 2 cores, longest first (measured with --durations=0). xdist
# (pyproject.toml: --dist loadfile --no-loadscope-reorder) hands whole files to the two workers in this order, then
# the rest in their usual order: started first, none of them is left for one worker at the end while the other
# idles. A file missing here only runs later; update the list from a run's durations when the times change.
LONGEST_FIRST = ("test_browser.py", "test_browser_training.py", "test_browser_keeping_work.py", "test_ray.py",
                 "test_browser_follow.py", "test_bench.py", "test_projection_cache.py", "test_jobs.py", "test_pages.py",
                 "test_sharing.py", "test_startup.py", "test_browser_own_images.py", "test_sliced_pool.py",
                 "test_fuzz.py", "test_install.py", "test_folder_map.py", "test_shipped.py", "test_diagnostics.py",
                 "test_training.py", "test_cli.py", "test_streaming.py", "test_sweep.py")


def pytest_collection_modifyitems(items):
    """Put the longest files first (LONGEST_FIRST), keeping the order of the tests within each file."""
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report ends with the logs of the app servers running at the time (a browser test's server
    prints its tracebacks and the job pool's warnings there, and CI keeps no files)."""
    report = yield
    if report.failed and "streamlit_server" in sys.modules:
        report.sections.extend(sys.modules["streamlit_server"].logs_since(call.start))
    return report


@pytest.fixture(autouse=True, scope="session")
def _class_data_in_a_temporary_folder(tmp_path_factory):
    """The job service's runs, uploads and database go to a folder of this test run, never the repository's."""
    os.environ.setdefault("AECORE_DATA_DIR", str(tmp_path_factory.mktemp("class-data")))
    os.environ.setdefault("AECORE_DATASET_CACHE", str(tmp_path_factory.mktemp("datasets")))  # the workers' maps


@pytest.fixture(autouse=True, scope="session")
def _no_server_warm_up():
    """AppTest runs app.py in this process: without this, its first run would start the server's warm-up here (load
    MNIST, start a training and a projection worker, compile UMAP) beside the tests. tests/test_startup.py tests
    the warm-up in a process of its own; the browser tests' servers still warm up."""
    from aecore.ui import warm_up

    warm_up.warm_up_pages = False
    yield
    warm_up.warm_up_pages = True


@pytest.fixture(autouse=True)
def _no_teacher_view_left_over():
    """Each test starts with nobody presenting: a test's teacher (the board's, the tours') published a view that
    every later AppTest session in the same pytest worker would follow for aecore.jobs.class_view.LIVE_S."""
    from aecore.jobs import class_view

    class_view._shared = None
    yield
    class_view._shared = None


@pytest.fixture(autouse=True, scope="session")
def _components_scanned_once():
    """Each new AppTest scans every installed distribution's metadata for Streamlit components (about 0.5 s on 2
    cores, a hundred times a run); what is installed does not change during a test run, so scan once."""
    from streamlit.components.v2 import manifest_scanner

    scan = manifest_scanner.scan_component_manifests
    found: list = []

    def scan_once(*args, **kwargs):
        if not found:
            found.append(scan(*args, **kwargs))
        return list(found[0])

    manifest_scanner.scan_component_manifests = scan_once
    yield
    manifest_scanner.scan_component_manifests = scan


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Two cores run many tiny models: one intra-op thread each is faster than two fighting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits_pool():
    """One training worker process with the digits loaded, as on a 2-core class server: jobs queue for it."""
    pool = LocalPool({"cpu": 1})
    pool.warm_up(DataConfig(name="digits")).result(timeout=120)
    yield pool
    pool.shutdown()


@pytest.fixture(scope="session")
def digits():
    """The small digits dataset (8x8, about 1,800 images), loaded once per pytest worker: tests only read it."""
    return load_dataset(DataConfig(name="digits"))


@pytest.fixture(scope="session")
def mnist():
    """MNIST (54,000 train, 6,000 validation, 10,000 test images), loaded once per pytest worker: tests only read it."""
    return load_dataset(DataConfig())


@pytest.fixture(scope="module")
def model(digits):
    """An untrained, seeded 4-d MLP autoencoder for the digits, in eval mode."""
    torch.manual_seed(0)
    return build_model(ModelConfig(hidden=(32,), latent_dim=4), digits.input_shape).eval()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for a browser test module (tests/streamlit_server.py)."""
    from playwright.sync_api import sync_playwright
    from streamlit_server import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app served by `streamlit run` for a browser test module, saving runs to a temporary folder; its URL."""
    from streamlit_server import served_app

    env = {"AECORE_RUNS_DIR": str(tmp_path_factory.mktemp("runs"))}
    with served_app(tmp_path_factory.mktemp("server") / "streamlit.log", env) as url:
        yield url


@pytest.fixture
def page(browser, server):
    """A new tab (a new session) on the served app's Home, 1600x1000, its script done."""
    from streamlit_server import visit

    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    yield visit(context, server)
    context.close()


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray for the test run (starting one takes seconds and several processes): its module, initialised.
    The tests that take it live in tests/test_ray.py, so that one worker starts it. Ray comes with
    requirements-dev.txt: without it the tests that need it skip, saying so, and fail in CI."""
    if importlib.util.find_spec("ray") is None:
        message = "ray is not installed (pip install -r requirements-dev.txt)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Ray tests, but {message}", pytrace=False)
        pytest.skip(f"{message}: the Ray tests are skipped")
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
