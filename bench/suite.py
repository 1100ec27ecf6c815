"""The measurements: each function returns a few named figures (seconds, milliseconds or ratios).

Benchmarks are not tests: nothing here asserts a target. ``run(scale)`` runs
them all at a scale ("full", "quick" or the tiny "smoke" the test suite uses).
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aecore.checkpoints import PRETRAINED_DIR, load_run
from aecore.data import load_dataset
from aecore.latent import LatentPlane, decode_codes, encode_split, grid_points, interpolate, nearest_neighbours
from aecore.models import build_model
from aecore.presets import preset_config
from aecore.training import TrainingState, build_optimizer, device_description, fit, resolve_device
from aecore.viz import mosaic, to_pil

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Scale:
    """How big each measurement is."""

    name: str
    fit_fraction: float  # of MNIST's training split, for fit vs bare
    fit_repeats: int  # epochs timed on each side; the fastest counts
    epoch_fraction: float  # of MNIST's training split for epoch_s (scaled up to a full epoch)
    epoch_presets: tuple[str, ...]
    tsne_points: int
    umap_points: int
    repeats: int  # latency samples
    cold_starts: int  # fresh servers timed; the median counts
    pages: bool  # time every page's script


SCALES = {
    "full": Scale("full", 0.5, 3, 1.0, ("ae", "denoising-ae", "sparse-ae", "conv-ae", "vae", "conv-vae"),
                  5000, 5000, 200, 3, True),
    "quick": Scale("quick", 0.25, 3, 0.05, ("ae", "conv-ae"), 1000, 1000, 50, 1, True),
    "smoke": Scale("smoke", 0.01, 1, 0.01, ("ae",), 200, 0, 5, 0, False),
}


def _p50_ms(call: Callable[[], object], repeats: int) -> float:
    call()  # warm up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return float(np.median(samples))


def fit_vs_bare(scale: Scale) -> dict:
    """Throughput (images/s) of one fit() epoch against a bare PyTorch loop doing the same work.

    The bare loop is the one a tutorial writes: shuffled batches, loss, backward, step, then the mean
    loss on the validation split. fit() adds events, previews, the NaN guard and its snapshot. Each
    is timed ``scale.fit_repeats`` times, alternating, and the fastest epoch of each counts. The same
    loop fed by a shuffling DataLoader, timed alike, gives fit_vs_dataloader_ratio.
    """
    config = preset_config("ae", fraction=scale.fit_fraction, epochs=1)
    data = load_dataset(config.data)
    x, val_x, batch_size = data.train.x, data.val.x, config.train.batch_size

    def bare_epoch(batches=None) -> float:
        torch.manual_seed(0)
        model = build_model(config.model, data.input_shape)
        optimizer = build_optimizer(model.parameters(), config.train)
        start = time.perf_counter()
        if batches is None:
            order = torch.randperm(len(x))
            batches = (x[order[first:first + batch_size]] for first in range(0, len(x), batch_size))
        for batch in batches:
            loss = torch.nn.functional.mse_loss(model(batch).recon, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.inference_mode():
            sum(float(torch.nn.functional.mse_loss(model(val_x[first:first + 1024]).recon,
                                                   val_x[first:first + 1024], reduction="sum"))
                for first in range(0, len(val_x), 1024))
        return time.perf_counter() - start

    def fit_epoch() -> float:
        state = TrainingState.create(config, data.input_shape, "cpu")
        start = time.perf_counter()
        for _ in fit(state, data):
            pass
        return time.perf_counter() - start

    def dataloader_epoch() -> float:  # the same loop fed by a shuffling DataLoader, as most tutorials do
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=batch_size, shuffle=True)
        return bare_epoch(batch for (batch,) in loader)

    bare_s, fit_s, loader_s = math.inf, math.inf, math.inf
    for _ in range(scale.fit_repeats):
        bare_s, fit_s, loader_s = min(bare_s, bare_epoch()), min(fit_s, fit_epoch()), min(loader_s, dataloader_epoch())
    return {"fit_images_per_s": round(len(x) / fit_s), "bare_images_per_s": round(len(x) / bare_s),
            "fit_vs_bare_ratio": round(bare_s / fit_s, 3), "fit_vs_dataloader_ratio": round(loader_s / fit_s, 2)}


def epoch_seconds(scale: Scale) -> dict:
    """Seconds for one MNIST epoch per preset (a fraction of one, scaled up in the quicker scales)."""
    figures = {}
    for preset in scale.epoch_presets:
        config = preset_config(preset, fraction=scale.epoch_fraction, epochs=1)
        data = load_dataset(config.data)
        state = TrainingState.create(config, data.input_shape, "cpu")
        start = time.perf_counter()
        for _ in fit(state, data):
            pass
        figures[preset] = round((time.perf_counter() - start) / scale.epoch_fraction, 2)
    return {"epoch_s": figures}


def training_start(scale: Scale) -> dict:
    """Seconds from Start (TrainingJob.start, MNIST preset ae) to the first reconstructions the Train page
    can draw, with a worker process already up and MNIST loaded in it, as after the server's warm-up (the
    page polls once a second)."""
    from aecore.jobs import LocalPool
    from aecore.jobs.training_job import TrainingJob

    config = preset_config("ae", epochs=1)
    pool = LocalPool({"cpu": 1})
    pool.warm_up(config.data).result(timeout=300)
    job = TrainingJob(load_dataset, pool)
    start = time.perf_counter()
    job.start(config)
    while job.snapshot().preview is None and job.snapshot().active:
        time.sleep(0.005)
    seconds = time.perf_counter() - start
    job.stop()
    job.join(60)
    pool.shutdown()
    return {"train_first_preview_s": round(seconds, 2)}


def _codes(points: int) -> np.ndarray:
    """The first ``points`` MNIST test codes of the shipped 32-d AE (t-SNE and UMAP use the same ones)."""
    return _test_codes()[:points]


@functools.cache
def _test_codes() -> np.ndarray:
    run = load_run(PRETRAINED_DIR / "mnist-ae-latent32")
    return encode_split(run.model, load_dataset(run.config.data).test)


def tsne_against_sklearn(scale: Scale) -> dict:
    """Our t-SNE (openTSNE, Barnes-Hut) against scikit-learn's TSNE defaults on the same codes."""
    from sklearn.manifold import TSNE, trustworthiness

    from aecore.projection import project

    codes = _codes(scale.tsne_points)
    start = time.perf_counter()
    ours = project(codes, "tsne").points
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = TSNE(random_state=0).fit_transform(codes)
    theirs_s = time.perf_counter() - start
    key = f"tsne_speedup_vs_sklearn_{scale.tsne_points // 1000}k" if scale.tsne_points >= 1000 else "tsne_speedup"
    return {"tsne_s": round(ours_s, 2), "sklearn_tsne_s": round(theirs_s, 2), key: round(theirs_s / ours_s, 2),
            "tsne_trustworthiness": round(float(trustworthiness(codes, ours, n_neighbors=5)), 4),
            "sklearn_trustworthiness": round(float(trustworthiness(codes, theirs, n_neighbors=5)), 4)}


def umap_seconds(scale: Scale) -> dict:
    """The dashboard's UMAP (aecore.projection) in a fresh process: importing umap-learn, the first fit
    (numba compiles) and a warm second fit, on the same MNIST codes as t-SNE. The import reads
    numba's on-disk cache (aecore.projection.NUMBA_CACHE), which the first run on a machine fills."""
    if not scale.umap_points:
        return {}
    script = ("import time\n"
              "import numpy as np\n"
              "from aecore import projection\n"
              "start = time.perf_counter(); projection._import_umap(); imported = time.perf_counter() - start\n"
              "codes = np.load('{codes}')\n"
              "def timed():\n"
              "    start = time.perf_counter(); projection.project(codes, 'umap')\n"
              "    return time.perf_counter() - start\n"
              "print(imported, timed(), timed())\n")  # the first fit compiles, the second is warm
    with tempfile.TemporaryDirectory() as folder:
        codes_file = Path(folder) / "codes.npy"
        np.save(codes_file, _codes(scale.umap_points))
        output = subprocess.run([sys.executable, "-W", "ignore", "-c", script.format(codes=codes_file)], cwd=ROOT,
                                capture_output=True, text=True, timeout=600, check=True)
    imported, first, warm = map(float, output.stdout.split()[-3:])
    return {"umap_s": {"import": round(imported, 2), "first": round(first, 2), "warm": round(warm, 2)}}


def latencies(scale: Scale) -> dict:
    """Interaction latencies with torch's default threads, as the dashboard serves them (median milliseconds):
    the PNG is compressed at level 1, as in aecore.pixels.png_bytes."""
    run = load_run(PRETRAINED_DIR / "mnist-ae-latent2")
    codes = np.random.default_rng(0).normal(size=(2000, 2)).astype(np.float32)
    plane = LatentPlane.of_dimensions(codes)
    bank = np.random.default_rng(1).normal(size=(10_000, 32)).astype(np.float32)

    conv = load_run(PRETRAINED_DIR / "mnist-conv-ae")
    conv_plane = LatentPlane.of_principal_components(bank)

    def grid_png(model=run.model, plane=plane) -> bytes:
        images = decode_codes(model, plane.lift(grid_points((-3, 3), (-3, 3), 20)))
        buffer = io.BytesIO()
        to_pil(mosaic(images, 20, padding=0), scale=2).save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()

    return {
        "decode_ms_p50": round(_p50_ms(lambda: decode_codes(run.model, plane.lift(np.zeros((1, 2)))),
                                       scale.repeats), 2),
        "grid20_ms_p50": round(_p50_ms(grid_png, scale.repeats), 2),
        "grid20_conv_ms_p50": round(_p50_ms(lambda: grid_png(conv.model, conv_plane), scale.repeats), 2),
        "interp_ms_p50": round(_p50_ms(lambda: decode_codes(run.model, interpolate(codes[0], codes[1], 10)),
                                       scale.repeats), 2),
        "neighbours_ms_p50": round(_p50_ms(lambda: nearest_neighbours(bank, bank[:1], 10), scale.repeats), 2),
    }


def page_seconds(scale: Scale) -> dict:
    """Each page's script time in a fresh process (AppTest on app.py, pages in menu order, so a page's first
    visit pays for whatever the pages before it did not load), then a rerun as after a click (the caches
    warm). Script time only: the browser's drawing is in cold_start."""
    if not scale.pages:
        return {}
    script = ("import json, time\n"
              "from streamlit.testing.v1 import AppTest\n"
              "from aecore.ui.navigation import PAGES\n"
              "at = AppTest.from_file('app.py', default_timeout=300)\n"
              "first, again = {}, {}\n"
              "for spec in PAGES:\n"
              "    if spec.default:\n"
              "        start = time.perf_counter(); at.run()\n"
              "    else:\n"
              "        start = time.perf_counter(); at.switch_page(spec.path).run()\n"
              "    first[spec.title] = round(time.perf_counter() - start, 2)\n"
              "    start = time.perf_counter(); at.run(); again[spec.title] = round(time.perf_counter() - start, 2)\n"
              "    assert not at.exception, spec.path\n"
              "print(json.dumps({'page_first_s': first, 'page_again_s': again}))\n")
    with tempfile.TemporaryDirectory() as runs:
        output = subprocess.run([sys.executable, "-W", "ignore", "-c", script], cwd=ROOT, capture_output=True,
                                text=True, timeout=900, check=True, env={**os.environ, "AECORE_RUNS_DIR": runs})
    return json.loads(output.stdout.strip().splitlines()[-1])


def _start_and_open(port: int) -> tuple[float, float]:
    """Seconds from `streamlit run serve.py` (as `make run`) to Home's heading in headless Chromium, and
    to the whole Home page (its example images and codes, which need torch, the model and the data)."""
    from playwright.sync_api import sync_playwright

    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"), "--server.port",
                               str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--no-sandbox", "--disable-gpu",
                                                       "--disable-background-networking"])
            page = browser.new_page()
            deadline = time.monotonic() + 120
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}", timeout=5000)
                    break
                except Exception:  # the server is not listening yet
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            page.get_by_role("heading", name="Autoencoder Lab").wait_for(timeout=120_000)
            heading = time.perf_counter() - start
            page.locator("[data-testid=stImage] img").nth(15).wait_for(timeout=120_000)
            whole = time.perf_counter() - start
            browser.close()
    finally:
        server.terminate()
        server.wait(15)
    return heading, whole


def cold_start(scale: Scale) -> dict:
    """Median over ``scale.cold_starts`` fresh servers of :func:`_start_and_open` (None without Chromium)."""
    if not scale.cold_starts or not Path("/usr/bin/chromium").exists():
        return {"cold_start_s": None, "cold_start_full_s": None}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    headings, wholes = zip(*(_start_and_open(port) for _ in range(scale.cold_starts)), strict=True)
    return {"cold_start_s": round(float(np.median(headings)), 2),
            "cold_start_full_s": round(float(np.median(wholes)), 2)}


def run(scale_name: str) -> dict:
    """Every measurement at one scale, plus the device and the peak memory of this process."""
    scale = SCALES[scale_name]
    results: dict = {"scale": scale.name, "device": device_description(resolve_device("auto")),
                     "cpus": os.cpu_count()}
    for measure in (latencies, fit_vs_bare, epoch_seconds, training_start, tsne_against_sklearn, umap_seconds,
                    page_seconds, cold_start):
        results.update(measure(scale))
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return results

