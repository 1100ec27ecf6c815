"""`python -m bench.projection`: our t-SNE and UMAP against openTSNE's and umap-learn's defaults, and the page.

The codes are MNIST's 70,000 images (test first, then train and validation)
encoded by the shipped 32-d AE (checkpoints/pretrained/mnist-ae-latent32),
encoded once and kept in a temp file. A size of N takes the first N of them,
so 10,000 is the test split that bench.suite's t-SNE figure uses.

Each side runs on THREADS threads (openTSNE's n_jobs, umap-learn's n_jobs and
numba's threads, BLAS's), the library defaults otherwise: ``openTSNE.TSNE()``
and ``umap.UMAP()`` with no random_state (umap-learn fits on one thread when
given one). Each side is warmed up first on a small set (imports, numba's
compiles), so the figures are the fits alone. Trustworthiness
(sklearn.manifold.trustworthiness, 5 neighbours as bench.suite) is taken on a
fixed sample of TRUST_SAMPLE codes of each map.

``--page`` also times the Explore page in AppTest: choosing all 70,000 images,
choosing t-SNE for them (the page draws their PCA map while the t-SNE job
starts in the background), and the page's reruns while that job runs.
Figures, never pass/fail.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench import write_results

ROOT = Path(__file__).resolve().parent.parent
THREADS = 2
SIZES = (10_000, 30_000, 70_000)
TRUST_SAMPLE, TRUST_NEIGHBOURS = 5000, 5
WARM_UP_CODES = 5000  # above 4,095 umap-learn searches with pynndescent, whose compile this warms up
RUN_NAME = "mnist-ae-latent32"
METHOD_NAMES = {"tsne": "t-SNE", "umap": "UMAP"}


def mnist_codes() -> np.ndarray:
    """The (70000, 32) float32 codes of every MNIST image, test first; encoded once, then read from a temp file."""
    from aecore.checkpoints import PRETRAINED_DIR

    checkpoint = PRETRAINED_DIR / RUN_NAME
    stamp = max(int(path.stat().st_mtime) for path in checkpoint.iterdir())
    cached = Path(tempfile.gettempdir()) / f"aecore-bench-{RUN_NAME}-{stamp}-codes.npy"
    if cached.exists():
        return np.load(cached)
    from aecore.checkpoints import load_run
    from aecore.data import load_dataset
    from aecore.latent_map import encode_map_points

    run = load_run(checkpoint)
    points = encode_map_points(run.model, load_dataset(run.config.data), "all")  # test, train, val: test first
    codes = np.ascontiguousarray(points.codes, dtype=np.float32)
    partial = cached.with_suffix(f".{os.getpid()}.npy")
    np.save(partial, codes)
    partial.replace(cached)  # whole or absent for another process reading it
    return codes


def _ours(method: str) -> Callable[[np.ndarray], np.ndarray]:
    from aecore.projection import project

    return lambda codes: np.asarray(project(codes, method, threads=THREADS).points)


def _default(method: str) -> Callable[[np.ndarray], np.ndarray]:
    if method == "tsne":
        from openTSNE import TSNE

        return lambda codes: np.asarray(TSNE(n_jobs=THREADS).fit(codes))
    import umap

    return lambda codes: np.asarray(umap.UMAP(n_jobs=THREADS).fit_transform(codes))


def trust(codes: np.ndarray, points: np.ndarray) -> float:
    """Trustworthiness of the map ``points`` of ``codes`` on a fixed sample of TRUST_SAMPLE of them."""
    from sklearn.manifold import trustworthiness

    from aecore.projection import sample_indices

    sample = sample_indices(len(codes), TRUST_SAMPLE, seed=0)
    return float(trustworthiness(codes[sample], points[sample], n_neighbors=TRUST_NEIGHBOURS))


_warmed_up: set[tuple[str, str]] = set()  # (method, side) fitted once in this process


def compare(codes: np.ndarray, method: str) -> dict:
    """Seconds and trustworthiness of our ``method`` map of ``codes`` and of the library's defaults."""
    from threadpoolctl import threadpool_limits

    figures, seconds = {}, {}
    with threadpool_limits(THREADS):
        for side, fit in (("ours", _ours(method)), ("default", _default(method))):
            if (method, side) not in _warmed_up:
                fit(codes[:WARM_UP_CODES])  # imports and numba's compiles, not timed
                _warmed_up.add((method, side))
            start = time.perf_counter()
            points = fit(codes)
            seconds[side] = time.perf_counter() - start
            figures[f"{side}_s"] = round(seconds[side], 2)
            figures[f"{side}_trust"] = round(trust(codes, points), 4)
    figures["speedup"] = round(seconds["default"] / seconds["ours"], 2)
    figures["trust_gap"] = round(figures["ours_trust"] - figures["default_trust"], 4)
    return figures


def page_figures(repeats: int = 10, spare_ready_s: float = 20.0) -> dict:
    """Explore in AppTest (its first run, the shipped 2-d AE), with no map cached on disk and the projection
    worker warmed up ``spare_ready_s`` seconds before, as the server does at start-up: seconds from choosing
    all 70,000 train + test images to the page drawn (their codes encoded in this step), from then choosing
    t-SNE to the page drawn with its PCA map (the t-SNE job starting in the background), then the median and
    slowest of ``repeats`` reruns of the page while that job runs."""
    from streamlit.testing.v1 import AppTest

    from aecore import projection_cache
    from aecore.jobs import projection_work

    def timed_choice(at: AppTest, key: str, value) -> float:
        widget = next(w for w in at.get("radio") + at.get("select_slider") if w.key == key)
        start = time.perf_counter()
        widget.set_value(value).run()
        seconds = time.perf_counter() - start
        if at.exception:
            raise RuntimeError(f"Explore failed: {at.exception}")
        return seconds

    jobs = projection_work.Projections(max_running=1)
    projection_work._projections = jobs
    jobs.warm_up()  # a spare worker: without one, handing it the codes waits for a new process's imports
    saved = os.environ.get(projection_cache.CACHE_DIR_ENV)
    folder = tempfile.TemporaryDirectory(prefix="aecore-bench-page-")
    os.environ[projection_cache.CACHE_DIR_ENV] = folder.name  # no map computed before
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
        at.switch_page("views/explore.py").run()
        time.sleep(spare_ready_s)
        timed_choice(at, "explore_split", "all")
        encode = timed_choice(at, "explore_cap_all", 70_000)
        tsne = timed_choice(at, "explore_mode", "tsne")
        pca_shown = '"PCA 1"' in at.get("plotly_chart")[0].proto.spec
        reruns = []
        for _ in range(repeats):
            if not at.get("progress"):
                break  # the job ended
            start = time.perf_counter()
            at.run()
            reruns.append(time.perf_counter() - start)
    finally:
        jobs.shutdown()
        os.environ.pop(projection_cache.CACHE_DIR_ENV)
        if saved is not None:
            os.environ[projection_cache.CACHE_DIR_ENV] = saved
        folder.cleanup()
    return {"choose_70k_with_encoding_s": round(encode, 2), "tsne_click_to_pca_map_70k_s": round(tsne, 2),
            "pca_map_shown": pca_shown, "reruns": len(reruns),
            "rerun_while_tsne_p50_s": round(statistics.median(reruns), 3) if reruns else None,
            "rerun_while_tsne_max_s": round(max(reruns), 3) if reruns else None}


def table(results: dict) -> str:
    """The comparison as a Markdown table, then the page's figures one a line."""
    rows = ["| codes | method | ours s | default s | speedup | ours trust | default trust |",
            "|---:|---|---:|---:|---:|---:|---:|"]
    for size, methods in results["sizes"].items():
        for method, f in methods.items():
            rows.append(f"| {int(size):,} | {METHOD_NAMES[method]} | {f['ours_s']} | {f['default_s']} | "
                        f"{f['speedup']}x | {f['ours_trust']} | {f['default_trust']} |")
    rows += [f"{name}: {value}" for name, value in results.get("page", {}).items()]
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.projection", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="codes per map, comma-separated")
    parser.add_argument("--methods", default="tsne,umap", help="tsne, umap or both (comma-separated)")
    parser.add_argument("--page", action="store_true", help="also time the Explore page (AppTest)")
    parser.add_argument("--out", type=Path, help="JSON file to write")
    args = parser.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(THREADS))  # read when umap-learn first imports numba
    sizes = [int(size) for size in args.sizes.split(",") if size]
    methods = [method for method in args.methods.split(",") if method]
    if unknown := set(methods) - set(METHOD_NAMES):
        parser.error(f"unknown methods: {', '.join(sorted(unknown))}")
    codes = mnist_codes()
    results: dict = {"threads": THREADS, "cpus": os.cpu_count(), "trust_sample": TRUST_SAMPLE,
                     "trust_neighbours": TRUST_NEIGHBOURS, "sizes": {}}
    for size in sizes:
        if not 0 < size <= len(codes):
            parser.error(f"sizes go from 1 to {len(codes)}, not {size}")
        results["sizes"][str(size)] = {method: compare(codes[:size], method) for method in methods}
    write_results(results, args.out)  # now too: the page's figures below could fail after minutes of maps
    if args.page:
        try:
            results["page"] = page_figures()
        except Exception as exc:  # a benchmark reports what it could not measure
            results["page"] = {"error": f"{type(exc).__name__}: {exc}"}
    text = write_results(results, args.out)
    print(table(results))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
