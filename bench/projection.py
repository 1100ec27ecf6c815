"""`python -m bench.projection`: our t-SNE and UMAP against openTSNE's and umap-learn's defaults, and the page.

The codes are MNIST's 70,000 images (test first, then train and validation)
encoded by the shipped 32-d AE (checkpoints/pretrained/mnist-ae-latent32),
encoded once and kept in a temp file. A size of N takes the first N of them,
so 10,000 is the test split that bench.suite's t-SNE figure uses.

Each side runs on THREADS threads (openTSNE's n_jobs, umap-learn's n_jobs and
numba's threads, BLAS's), the library defaults otherwise: ``openTSNE.TSNE()``
and ``umap.UMAP()`` with no random_state (umap-learn fits on one thread when
given one). Each side is warmed up first on a small set (imports, numba's
compiles), so the figures are the fits alone. Then the two sides take turns,
``--repeats`` rounds (5), and each figure is the median of its rounds with its
spread (bench.stats); the speed-up's samples are the rounds' ratios.
Trustworthiness (sklearn.manifold.trustworthiness, 5 neighbours as bench.suite)
is taken on a fixed sample of TRUST_SAMPLE codes of every round's map.

``--page`` also times the Explore page in AppTest: choosing all 70,000 images,
choosing t-SNE for them (the page draws their PCA map while the t-SNE job
starts in the background), once each, and the page's reruns while that job
runs. The result file is bench/results/<date>-<time>-<commit>-projection.json
unless ``--out`` names another. Figures, never pass/fail.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.report import markdown_table
from bench.results import write
from bench.stats import REPETITIONS, figure, interleaved, ratios

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


def compare(codes: np.ndarray, method: str, repeats: int = REPETITIONS) -> dict:
    """Seconds and trustworthiness of our ``method`` map of ``codes`` and of the library's defaults, the two
    taking turns for ``repeats`` rounds (each warmed up once in this process first): figures (bench.stats)."""
    from threadpoolctl import threadpool_limits

    trusts: dict[str, list[float]] = {"ours": [], "default": []}

    def timed(side: str, fit: Callable[[np.ndarray], np.ndarray]) -> Callable[[], float]:
        def measure() -> float:
            start = time.perf_counter()
            points = fit(codes)
            seconds = time.perf_counter() - start
            trusts[side].append(trust(codes, points))
            return seconds
        return measure

    sides = {"ours": _ours(method), "default": _default(method)}
    with threadpool_limits(THREADS):
        for side, fit in sides.items():
            if (method, side) not in _warmed_up:
                fit(codes[:WARM_UP_CODES])  # imports and numba's compiles, not timed
                _warmed_up.add((method, side))
        seconds = interleaved({side: timed(side, fit) for side, fit in sides.items()}, repeats)
    return {"ours_s": figure(seconds["ours"], "s", "lower"), "default_s": figure(seconds["default"], "s", "lower"),
            "speedup": figure(ratios(seconds["default"], seconds["ours"]), "x", "higher"),
            "ours_trust": figure(trusts["ours"], "", "higher"),
            "default_trust": figure(trusts["default"], "", "higher"),
            # near 0 either way: a change in per cent means nothing, so bench.compare shows it without flagging it
            "trust_gap": figure([o - d for o, d in zip(trusts["ours"], trusts["default"], strict=True)], "", None)}


def page_figures(repeats: int = 10, spare_ready_s: float = 20.0) -> dict:
    """Explore in AppTest (its first run, the shipped 2-d AE), with no map cached on disk and the projection
    worker warmed up ``spare_ready_s`` seconds before, as the server does at start-up: seconds from choosing
    all 70,000 train + test images to the page drawn (their codes encoded in this step), from then choosing
    t-SNE to the page drawn with its PCA map (the t-SNE job starting in the background), then the median and
    slowest of ``repeats`` reruns of the page while that job runs. The first two are measured once (each
    needs a fresh page and a fresh t-SNE job); the reruns are the samples of one figure. Returns
    (figures, details)."""
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
    figures = {"choose_70k_with_encoding_s": figure([encode], "s", "lower"),
               "tsne_click_to_pca_map_70k_s": figure([tsne], "s", "lower")}
    if reruns:
        figures["rerun_while_tsne_s"] = figure(reruns, "s", "lower")
    return figures, {"pca_map_shown": pca_shown, "reruns": len(reruns)}


def table(figures: dict) -> str:
    """The comparison's medians as a Markdown table (codes by method), the speed-up's range beside it."""
    rows = ["| codes | method | ours s | default s | speedup (min - max) | ours trust | default trust |",
            "|---:|---|---:|---:|---:|---:|---:|"]
    for size, methods in figures.get("sizes", {}).items():
        for method, f in methods.items():
            rows.append(f"| {int(size):,} | {METHOD_NAMES[method]} | {f['ours_s']['median']} | "
                        f"{f['default_s']['median']} | {f['speedup']['median']}x ({f['speedup']['min']} - "
                        f"{f['speedup']['max']}) | {f['ours_trust']['median']} | {f['default_trust']['median']} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.projection", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="codes per map, comma-separated")
    parser.add_argument("--methods", default="tsne,umap", help="tsne, umap or both (comma-separated)")
    parser.add_argument("--repeats", type=int, default=REPETITIONS,
                        help=f"rounds of each comparison, the sides taking turns (default {REPETITIONS})")
    parser.add_argument("--page", action="store_true", help="also time the Explore page (AppTest)")
    parser.add_argument("--out", type=Path,
                        help="JSON file to write (default bench/results/<date>-<time>-<commit>-projection.json)")
    args = parser.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(THREADS))  # read when umap-learn first imports numba
    sizes = [int(size) for size in args.sizes.split(",") if size]
    methods = [method for method in args.methods.split(",") if method]
    if unknown := set(methods) - set(METHOD_NAMES):
        parser.error(f"unknown methods: {', '.join(sorted(unknown))}")
    if args.repeats < 1:
        parser.error("--repeats is at least 1")
    codes = mnist_codes()
    for size in sizes:
        if not 0 < size <= len(codes):
            parser.error(f"sizes go from 1 to {len(codes)}, not {size}")
    arguments = {"sizes": sizes, "methods": methods, "repeats": args.repeats, "page": args.page}
    details: dict = {"threads": THREADS, "trust_sample": TRUST_SAMPLE, "trust_neighbours": TRUST_NEIGHBOURS}
    figures: dict = {"sizes": {}}
    for size in sizes:
        figures["sizes"][str(size)] = {method: compare(codes[:size], method, args.repeats) for method in methods}
    doc, out = write("projection", figures, details, arguments, args.out)
    if args.page:  # the maps are saved above: the page's figures could fail after minutes of maps
        try:
            figures["page"], details["page"] = page_figures()
        except Exception as exc:  # a benchmark reports what it could not measure
            details["page"] = {"error": f"{type(exc).__name__}: {exc}"}
        doc, out = write("projection", figures, details, arguments, out)
    print(table(figures))
    print()
    print(markdown_table(doc))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
