"""`python -m bench.projection`: our t-SNE and UMAP maps against openTSNE's, scikit-learn's and umap-learn's, by
what a user sees (issue 30, item 3): the time a map takes, its 10-NN label accuracy, trustworthiness and continuity.

The codes are MNIST's 70,000 images (test first, then train and validation) encoded by each of two shipped runs
(``--runs``; default the 32-d AE ``mnist-ae-latent32`` and the 10-d convolutional VAE ``mnist-conv-vae``: a
plain and a variational latent of different sizes; the two 2-d runs would be maps already), encoded once per run
and kept in a temp file with their labels. A size of N takes the first N codes, so 10,000 is the test split.

For every run and size (``--sizes``, default 5,000, 10,000, 20,000 and 70,000) each map is fitted once per seed
(``--seeds``: seeds 0, 1, 2 by default), every map taking its turn within a seed's round, one map later each round
(bench.stats.interleaved): ours (``--methods``: aecore.projection's ``project(codes, method, seed=seed)``) and the
baselines at their own defaults (``--baselines``), each given ``random_state=seed``:

- ``opentsne``: ``openTSNE.TSNE(n_jobs=THREADS)``;
- ``sklearn``: ``sklearn.manifold.TSNE(n_jobs=THREADS)`` (1,000 iterations, Barnes-Hut);
- ``umap-learn``: ``umap.UMAP(n_epochs=500 if n <= 10_000 else 200)``, which is umap-learn's own default
  (``n_epochs=None``: 500 epochs up to 10,000 points, 200 above, umap_.simplicial_set_embedding), named so that
  the file says it. A random_state makes umap-learn fit on one thread (its own rule).

``n_jobs`` and the thread pools (BLAS, OpenMP, numba: THREADS) only give every side the same cores; nothing else is
changed from the libraries' defaults. Each side is warmed up untimed once in the process on a small set first
(imports, numba's compiles: umap-learn's on WARM_UP_CODES[side] codes, enough for pynndescent), so the times are
the fits alone. ``--skip sklearn@70000`` (comma-separated ``NAME@SIZE``, or ``NAME`` for every size) leaves a
slow map out; the result file says what was skipped (``details.skipped``).

Each map's figures (bench.stats.figure over the seeds): ``time_s``, the fit's seconds; ``knn10_accuracy``, the
share of points whose 10 nearest others in the map mostly carry their label (leave-one-out, all N points);
``trustworthiness`` and ``continuity`` with 10 neighbours on a fixed subsample of QUALITY_SAMPLE codes
(:func:`map_quality`). Per size and each of our methods, against the fastest baseline there (lowest median
time): ``speedup`` (per-seed ratios of its time to ours) and ``knn10_gap`` (ours less its accuracy, per seed);
``details.targets`` compares them with the issue's targets (>= 5x, gap >= -0.005) and says by how much a miss
misses.

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
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bench.report import markdown_table
from bench.results import write
from bench.stats import figure, interleaved, ratios

ROOT = Path(__file__).resolve().parent.parent
THREADS = 2
RUNS = ("mnist-ae-latent32", "mnist-conv-vae")
SIZES = (5_000, 10_000, 20_000, 70_000)
SEEDS = 3
QUALITY_SAMPLE, QUALITY_NEIGHBOURS = 5000, 10
METHOD_NAMES = {"tsne": "t-SNE", "umap": "UMAP"}  # ours, aecore.projection
BASELINE_NAMES = {"opentsne": "openTSNE", "sklearn": "scikit-learn t-SNE", "umap-learn": "umap-learn"}
# above 4,095 points umap-learn searches with pynndescent, whose compile its warm-up must include
WARM_UP_CODES = {"umap-learn": 5000}
WARM_UP_OTHERS = 1000
TARGET_SPEEDUP, TARGET_KNN10_GAP = 5.0, -0.005  # issue 30 item 3, against the fastest baseline


def mnist_codes(run: str = RUNS[0]) -> tuple[np.ndarray, np.ndarray]:
    """The (70000, L) float32 codes of every MNIST image under the shipped run ``run``, test first, and their
    (70000,) int64 labels; encoded once, then read from a temp file."""
    from aecore.checkpoints import PRETRAINED_DIR

    checkpoint = PRETRAINED_DIR / run
    stamp = max(int(path.stat().st_mtime) for path in checkpoint.iterdir())
    cached = Path(tempfile.gettempdir()) / f"aecore-bench-{run}-{stamp}-codes-labels.npz"
    if cached.exists():
        with np.load(cached) as saved:
            return saved["codes"], saved["labels"]
    from aecore.checkpoints import load_run
    from aecore.data import load_dataset
    from aecore.latent_map import encode_map_points

    loaded = load_run(checkpoint)
    points = encode_map_points(loaded.model, load_dataset(loaded.config.data), "all")  # test, train, val
    codes = np.ascontiguousarray(points.codes, dtype=np.float32)
    labels = np.asarray(points.labels, dtype=np.int64)
    partial = cached.with_suffix(f".{os.getpid()}.npz")
    np.savez(partial, codes=codes, labels=labels)
    partial.replace(cached)  # whole or absent for another process reading it
    return codes, labels


def knn_accuracy(points: np.ndarray, labels: np.ndarray, k: int = QUALITY_NEIGHBOURS) -> float:
    """Leave-one-out ``k``-NN label accuracy of a map: the share of points whose ``k`` nearest other points in
    ``points`` (Euclidean) carry, by a plain majority, the point's own label (a tie goes to the smallest label,
    as scikit-learn's KNeighborsClassifier)."""
    from sklearn.neighbors import NearestNeighbors

    points, labels = np.asarray(points, dtype=np.float64), np.asarray(labels)
    n = len(points)
    k = min(k, n - 1)
    _, found = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    own = found == np.arange(n)[:, None]
    own[~own.any(axis=1), -1] = True  # a point tied at distance 0 with k + 1 others: drop the farthest instead
    neighbours = found[~own].reshape(n, k)
    classes, codes = np.unique(labels, return_inverse=True)
    votes = np.zeros((n, len(classes)), dtype=np.int64)
    np.add.at(votes, (np.repeat(np.arange(n), k), codes[neighbours].ravel()), 1)
    return float(np.mean(votes.argmax(axis=1) == codes))


def map_quality(codes: np.ndarray, points: np.ndarray, labels: np.ndarray, *, k: int = QUALITY_NEIGHBOURS,
                sample: int = QUALITY_SAMPLE, seed: int = 0) -> dict[str, float]:
    """What a user sees in the 2-D map ``points`` of ``codes`` (N, L) labelled ``labels``:

    - ``knn10_accuracy``: :func:`knn_accuracy` with ``k`` neighbours over all N points;
    - ``trustworthiness``: sklearn.manifold.trustworthiness(codes, points) with ``k`` neighbours, on a fixed
      subsample of ``sample`` points (aecore.projection.sample_indices with ``seed``; all N if fewer): are the
      map's neighbours neighbours among the codes;
    - ``continuity``: the same with the two spaces' roles swapped, trustworthiness(points, codes) (Venna and
      Kaski 2001): are the codes' neighbours neighbours in the map.
    """
    from sklearn.manifold import trustworthiness

    from aecore.projection import sample_indices

    codes, points = np.asarray(codes, dtype=np.float32), np.asarray(points, dtype=np.float32)
    chosen = sample_indices(len(codes), sample, seed=seed)
    return {"knn10_accuracy": knn_accuracy(points, labels, k),
            "trustworthiness": float(trustworthiness(codes[chosen], points[chosen], n_neighbors=k)),
            "continuity": float(trustworthiness(points[chosen], codes[chosen], n_neighbors=k))}


Fit = Callable[[np.ndarray, int], np.ndarray]  # (codes, seed) -> (N, 2) map


def fitter(side: str) -> Fit:
    """The map ``side`` draws: ours ("tsne", "umap") or a baseline ("opentsne", "sklearn", "umap-learn", at
    the library's defaults but ``random_state`` and the threads; see the module's docstring)."""
    if side in METHOD_NAMES:
        from aecore.projection import project

        return lambda codes, seed: np.asarray(project(codes, side, seed=seed, threads=THREADS).points)
    if side == "opentsne":
        from openTSNE import TSNE

        return lambda codes, seed: np.asarray(TSNE(n_jobs=THREADS, random_state=seed).fit(codes))
    if side == "sklearn":
        from sklearn import manifold

        return lambda codes, seed: manifold.TSNE(n_jobs=THREADS, random_state=seed).fit_transform(codes)
    if side == "umap-learn":
        import umap

        def fit_umap(codes: np.ndarray, seed: int) -> np.ndarray:
            with warnings.catch_warnings():  # "n_jobs value 1 overridden to 1 by setting random_state"
                warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
                reducer = umap.UMAP(n_epochs=500 if len(codes) <= 10_000 else 200, random_state=seed)
                return np.asarray(reducer.fit_transform(codes))

        return fit_umap
    raise ValueError(f"unknown map {side!r}; known: {', '.join([*METHOD_NAMES, *BASELINE_NAMES])}")


def side_key(side: str) -> str:
    """The figures' name of a map: ``ours-tsne``, ``ours-umap``, or the baseline's name."""
    return f"ours-{side}" if side in METHOD_NAMES else side


def skipped(skip: Sequence[str], side: str, size: int) -> bool:
    """Whether ``--skip``'s entries (``NAME`` or ``NAME@SIZE``) leave the map ``side`` of ``size`` codes out."""
    return side in skip or f"{side}@{size}" in skip


_warmed_up: set[str] = set()  # sides fitted once in this process


def measure_size(codes: np.ndarray, labels: np.ndarray, sides: Sequence[str], seeds: Sequence[int],
                 fits: dict[str, Fit] | None = None) -> tuple[dict, dict]:
    """Every map of ``sides`` of ``codes``, once per seed, the sides taking turns within each seed's round (each
    warmed up once in this process first); (figures, details): each side's time_s and :func:`map_quality`
    figures under :func:`side_key`, and for each of our methods ``vs_fastest_baseline`` (speedup and knn10_gap
    against the baseline of least median time); details name that baseline."""
    from threadpoolctl import threadpool_limits

    fits = fits if fits is not None else {side: fitter(side) for side in sides}
    quality: dict[str, list[dict[str, float]]] = {side: [] for side in sides}

    def timed(side: str) -> Callable[[], float]:
        def measure() -> float:
            seed = seeds[len(quality[side])]
            start = time.perf_counter()
            points = fits[side](codes, seed)
            seconds = time.perf_counter() - start
            quality[side].append(map_quality(codes, points, labels))
            return seconds
        return measure

    with threadpool_limits(THREADS):
        for side in sides:
            if side not in _warmed_up:
                fits[side](codes[:WARM_UP_CODES.get(side, WARM_UP_OTHERS)], 0)  # imports, compiles: not timed
                _warmed_up.add(side)
        seconds = interleaved({side: timed(side) for side in sides}, len(seeds))
    figures: dict = {}
    for side in sides:
        figures[side_key(side)] = {"time_s": figure(seconds[side], "s", "lower"),
                                   **{name: figure([q[name] for q in quality[side]], "", "higher")
                                      for name in quality[side][0]}}
    details: dict = {"seeds": list(seeds)}
    baselines = [side for side in sides if side in BASELINE_NAMES]
    if baselines:
        fastest = min(baselines, key=lambda side: figures[side]["time_s"]["median"])
        details["fastest_baseline"] = fastest
        against = {}
        for side in (side for side in sides if side in METHOD_NAMES):
            gaps = [ours["knn10_accuracy"] - theirs["knn10_accuracy"]
                    for ours, theirs in zip(quality[side], quality[fastest], strict=True)]
            # near 0 either way: a change in per cent means nothing, so bench.compare shows it without flagging it
            against[side_key(side)] = {"speedup": figure(ratios(seconds[fastest], seconds[side]), "x", "higher"),
                                       "knn10_gap": figure(gaps, "", None)}
        if against:
            figures["vs_fastest_baseline"] = against
    return figures, details


def targets(size_figures: dict, fastest: str) -> dict:
    """Each of our methods' medians against the issue's targets at one size: the speed-up over ``fastest``
    (>= TARGET_SPEEDUP) and the 10-NN accuracy gap (>= TARGET_KNN10_GAP), and by how much each misses (0 when
    met)."""
    verdicts = {}
    for key, against in size_figures.get("vs_fastest_baseline", {}).items():
        speedup, gap = against["speedup"]["median"], against["knn10_gap"]["median"]
        verdicts[key] = {"against": fastest, "speedup": speedup,
                         "speedup_short_by": round(max(0.0, TARGET_SPEEDUP - speedup), 4),
                         "knn10_gap": gap, "knn10_short_by": round(max(0.0, TARGET_KNN10_GAP - gap), 6),
                         "met": speedup >= TARGET_SPEEDUP and gap >= TARGET_KNN10_GAP}
    return verdicts


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


def table(figures: dict, details: dict | None = None) -> str:
    """The medians as Markdown tables: a row per run, size and map (seconds, 10-NN accuracy, trustworthiness,
    continuity), then our methods against the fastest baseline (``details.runs``' name of it; its speed-up with
    the range, the 10-NN gap)."""
    names = {**{side_key(m): f"ours {name}" for m, name in METHOD_NAMES.items()}, **BASELINE_NAMES}
    rows = ["| run | codes | map | s | 10-NN accuracy | trustworthiness | continuity |",
            "|---|---:|---|---:|---:|---:|---:|"]
    against = ["| run | codes | ours | fastest baseline | speedup (min - max) | 10-NN gap |",
               "|---|---:|---|---|---:|---:|"]
    for run, sizes in figures.get("runs", {}).items():
        for size, maps in sizes.items():
            for key, f in maps.items():
                if key == "vs_fastest_baseline":
                    continue
                rows.append(f"| {run} | {int(size):,} | {names.get(key, key)} | {f['time_s']['median']} | "
                            f"{f['knn10_accuracy']['median']} | {f['trustworthiness']['median']} | "
                            f"{f['continuity']['median']} |")
            for key, f in maps.get("vs_fastest_baseline", {}).items():
                fastest = (details or {}).get("runs", {}).get(run, {}).get(size, {}).get("fastest_baseline", "")
                fastest = BASELINE_NAMES.get(fastest, fastest)
                against.append(f"| {run} | {int(size):,} | {names.get(key, key)} | {fastest} | "
                               f"{f['speedup']['median']}x ({f['speedup']['min']} - {f['speedup']['max']}) | "
                               f"{f['knn10_gap']['median']:+.4f} |")
    return "\n".join(rows + [""] + against)


def parse_skip(text: str, known: Sequence[str]) -> list[str]:
    """``--skip``'s comma-separated ``NAME`` or ``NAME@SIZE`` entries (ValueError for an unknown name or a size
    that is not a number)."""
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    for entry in entries:
        name, _, size = entry.partition("@")
        if name not in known or (size and not size.isdigit()):
            raise ValueError(f"--skip takes NAME or NAME@SIZE with NAME one of {', '.join(known)}, not {entry!r}")
    return entries


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.projection", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default=",".join(RUNS),
                        help="shipped runs (checkpoints/pretrained/), comma-separated; default %(default)s")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="codes per map, comma-separated")
    parser.add_argument("--methods", default=",".join(METHOD_NAMES), help="ours: tsne, umap (comma-separated)")
    parser.add_argument("--baselines", default=",".join(BASELINE_NAMES),
                        help=f"{', '.join(BASELINE_NAMES)} (comma-separated; empty for none)")
    parser.add_argument("--seeds", "--repeats", dest="seeds", type=int, default=SEEDS,
                        help=f"seeds 0 .. N-1, one round each, the maps taking turns (default {SEEDS})")
    parser.add_argument("--skip", default="", help="maps left out: NAME@SIZE or NAME (every size), "
                                                   "comma-separated, e.g. sklearn@20000,sklearn@70000")
    parser.add_argument("--page", action="store_true", help="also time the Explore page (AppTest)")
    parser.add_argument("--out", type=Path,
                        help="JSON file to write (default bench/results/<date>-<time>-<commit>-projection.json)")
    args = parser.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(THREADS))  # read when umap-learn first imports numba
    runs = [run for run in args.runs.split(",") if run]
    sizes = [int(size) for size in args.sizes.split(",") if size]
    methods = [method for method in args.methods.split(",") if method]
    baselines = [baseline for baseline in args.baselines.split(",") if baseline]
    if unknown := set(methods) - set(METHOD_NAMES):
        parser.error(f"unknown methods: {', '.join(sorted(unknown))}")
    if unknown := set(baselines) - set(BASELINE_NAMES):
        parser.error(f"unknown baselines: {', '.join(sorted(unknown))}")
    if args.seeds < 1:
        parser.error("--seeds is at least 1")
    try:
        skip = parse_skip(args.skip, [*METHOD_NAMES, *BASELINE_NAMES])
    except ValueError as exc:
        parser.error(str(exc))
    from aecore.checkpoints import PRETRAINED_DIR

    if missing := [run for run in runs if not (PRETRAINED_DIR / run).is_dir()]:
        parser.error(f"no shipped run {', '.join(missing)} in {PRETRAINED_DIR}")
    seeds = list(range(args.seeds))
    arguments = {"runs": runs, "sizes": sizes, "methods": methods, "baselines": baselines, "seeds": args.seeds,
                 "skip": skip, "page": args.page}
    details: dict = {"threads": THREADS, "quality_sample": QUALITY_SAMPLE, "quality_neighbours": QUALITY_NEIGHBOURS,
                     "umap_learn_epochs": "500 up to 10,000 codes, 200 above (its default)",
                     "skipped": [], "runs": {}, "targets": {}}
    figures: dict = {"runs": {}}
    fits = {side: fitter(side) for side in [*methods, *baselines]}
    out = args.out  # the first write names the file (its date and commit); later writes keep that name
    for run in runs:
        codes, labels = mnist_codes(run)
        for size in sizes:
            if not 0 < size <= len(codes):
                parser.error(f"sizes go from 1 to {len(codes)}, not {size}")
        for size in sizes:
            sides = [side for side in [*methods, *baselines] if not skipped(skip, side, size)]
            details["skipped"] += [f"{run}: {side}@{size}" for side in [*methods, *baselines]
                                   if side not in sides]
            if not sides:
                continue
            size_figures, size_details = measure_size(codes[:size], labels[:size], sides, seeds, fits)
            figures["runs"].setdefault(run, {})[str(size)] = size_figures
            details["runs"].setdefault(run, {})[str(size)] = size_details
            if "fastest_baseline" in size_details:
                details["targets"].setdefault(run, {})[str(size)] = targets(size_figures,
                                                                            size_details["fastest_baseline"])
            doc, out = write("projection", figures, details, arguments, out)  # kept as it goes: a long run's maps
    doc, out = write("projection", figures, details, arguments, out)
    if args.page:  # the maps are saved above: the page's figures could fail after minutes of maps
        try:
            figures["page"], details["page"] = page_figures()
        except Exception as exc:  # a benchmark reports what it could not measure
            details["page"] = {"error": f"{type(exc).__name__}: {exc}"}
        doc, out = write("projection", figures, details, arguments, out)
    print(table(figures, details))
    print()
    print(markdown_table(doc))
    if details["skipped"]:
        print(f"\nskipped: {', '.join(details['skipped'])}")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
