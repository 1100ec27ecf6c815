"""`python -m bench.map_draw`: how long plotly.js takes to draw Explore's map of all 70,000 MNIST images.

The figure is the one Explore draws for the shipped 2-d AE with "all 70,000" train + test images: its plane map
with the decoded grid under it, the invisible click grid, the split encoding (test solid and outlined, the
others faint), built by :func:`aecore.ui.charts.latent_map_figure` and written as Streamlit sends it
(``plotly.io.to_json``, numpy arrays as base64). A static page with the project's own plotly.js (plotly's
``package_data/plotly.min.js``, the same major version Streamlit bundles; nothing from the network) draws it in
headless Chromium (``--no-sandbox --disable-gpu``: WebGL rasterised in software); a draw is ``Plotly.newPlot``
to two animation frames later, each in a fresh page, RUNS times per variant (the variants taking turns): median
and max. The variants (VARIANTS) take one thing at a time from the page's figure, or draw it as it was before
(one trace styled point by point, margins pushed by the axes' labels). ``--then`` also times the
``Plotly.react`` Streamlit's chart makes after a first draw; ``--profile`` samples one draw with the DevTools
CPU profiler and lists the functions with the most self and total time, with the start of their minified code.

The figure's payload (the bytes of its JSON), each variant's figures (bench.stats: median, spread, the RUNS
samples) and the details (the page's WebGL canvases and margins, the load) go to
bench/results/<date>-<time>-<commit>-map-draw.json unless ``--out`` names another file. Figures, never
pass/fail. Run it alone: ``flock /tmp/cpu.lock timeout 600 .venv/bin/python -m bench.map_draw``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from aecore.ui.charts import SELECTABLE_MODES
from aecore.ui.palette import CLASS_COLORS
from bench.report import markdown_table
from bench.results import write
from bench.stats import figure

RUN_NAME = "mnist-ae-latent2"
RUNS = 7
WIDTH = 760  # px of Explore's map column in a 1280-wide window
PLOTLY_JS = Path(__import__("plotly").__file__).parent / "package_data" / "plotly.min.js"
CHROMIUM = "/usr/bin/chromium"
# what Streamlit's chart sets after its first draw when the layout leaves them out (selections on, points first)

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="plotly.min.js"></script>
<script src="spec.js"></script></head><body style="margin:0"><div id="map"></div><script>
const frames = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
async function draw(then) {
  const div = document.getElementById('map');
  const t0 = performance.now();
  const figure = JSON.parse(window.SPEC);
  const t1 = performance.now();
  await Plotly.newPlot(div, figure.data, figure.layout, {displaylogo: false});
  const t2 = performance.now();
  await frames();
  const t3 = performance.now();
  let t4 = t3;
  if (then) {  // Streamlit's chart, after its first draw: the same figure with the modes it sets
    await Plotly.react(div, figure.data, {...figure.layout, ...then}, {displaylogo: false});
    await frames();
    t4 = performance.now();
  }
  return {parse_ms: t1 - t0, newplot_ms: t2 - t1, draw_ms: t3 - t1, then_ms: t4 - t3,
          gl: document.querySelectorAll('canvas').length, margins: div._fullLayout._size};
}
</script></body></html>"""


def explore_figure() -> dict:
    """Explore's figure of every MNIST image on the shipped 2-d AE's plane, as the JSON dict Streamlit sends."""
    import plotly.io as pio

    from aecore.checkpoints import PRETRAINED_DIR, load_run
    from aecore.data import load_dataset
    from aecore.latent_map import DEFAULT_GRID, cell_centres, encode_map_points, plane_map
    from aecore.pixels import manifold_image, png_bytes
    from aecore.ui.charts import latent_map_figure

    run = load_run(PRETRAINED_DIR / RUN_NAME)
    dataset = load_dataset(run.config.data)
    points = encode_map_points(run.model, dataset, "all")
    the_map = plane_map(points.codes, "plane")
    background = png_bytes(manifold_image(run.model, dataset.normalizer, the_map.plane,
                                          cell_centres(the_map.bounds, DEFAULT_GRID), DEFAULT_GRID, 2))
    figure = latent_map_figure(the_map.points, points.labels, run.class_names, axis_labels=the_map.axis_labels,
                               background=background, bounds=the_map.bounds, click_grid=the_map.click_grid(),
                               point_ids=points.indices, splits=points.splits, selectable=True)
    return json.loads(pio.to_json(figure, validate=False))


def _array(value) -> np.ndarray:
    """A figure's array, as plotly.py writes numpy arrays ({"dtype", "bdata", "shape"}) or as a list."""
    if isinstance(value, dict):
        values = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return values.reshape([int(size) for size in value["shape"].split(",")]) if "shape" in value else values
    return np.asarray(value)


def _data(values: np.ndarray) -> dict:
    return {"dtype": values.dtype.str[1:], "bdata": base64.b64encode(values.tobytes()).decode("ascii")}


def _point_traces(figure: dict) -> list[dict]:
    return [trace for trace in figure["data"] if trace.get("name") == "images"]


def _edit(change: Callable[[dict], None]) -> Callable[[dict], dict]:
    def variant(figure: dict) -> dict:
        figure = copy.deepcopy(figure)
        change(figure)
        return figure
    return variant


def _one_trace(figure: dict) -> None:
    """The points as one trace in row order, styled point by point, as the map was drawn before (colours through
    a stepped colorscale, per-point opacity, size, outline and hover text)."""
    traces = _point_traces(figure)
    rows = np.concatenate([_array(trace["customdata"])[:, 0] for trace in traces])
    order = np.argsort(rows)

    def per_point(values) -> np.ndarray:
        return np.concatenate([np.full(len(_array(trace["x"])), values(trace)) for trace in traces])[order]

    labels = per_point(lambda trace: CLASS_COLORS.index(trace["marker"]["color"])).astype(np.uint8)
    test = per_point(lambda trace: trace["marker"]["line"]["width"]).astype(bool)
    scale = []
    for label in range(len(CLASS_COLORS)):
        scale += [[label / 10, CLASS_COLORS[label]], [(label + 1) / 10, CLASS_COLORS[label]]]
    marker = {"color": _data(labels), "colorscale": scale, "cmin": -0.5, "cmax": 9.5, "showscale": False,
              "opacity": _data(np.where(test, 0.95, 0.4).astype(np.float32)),
              "size": _data(np.where(test, 8, 6).astype(np.uint8)),
              "line": {"width": _data(test.astype(np.uint8)), "color": "#222222"}}
    names = per_point(lambda trace: trace["hovertemplate"].split("<br>")[0].removeprefix("class "))
    merged = {"type": "scattergl", "mode": "markers", "showlegend": False, "name": "images", "marker": marker,
              "x": _data(np.concatenate([_array(trace["x"]) for trace in traces])[order]),
              "y": _data(np.concatenate([_array(trace["y"]) for trace in traces])[order]),
              "customdata": _data(np.concatenate([_array(trace["customdata"])[:, 1] for trace in traces])[order]),
              "hovertext": names.tolist(), "hovertemplate": "class %{hovertext}<br>image #%{customdata}<extra></extra>"}
    first = figure["data"].index(traces[0])
    figure["data"] = [trace for trace in figure["data"] if trace.get("name") != "images"]
    figure["data"].insert(first, merged)


def _pushed_margins(figure: dict) -> None:
    figure["layout"]["margin"] |= {"l": 60, "b": 50}  # as before: the axes' labels push them, a second draw


def _bare(figure: dict) -> None:
    traces = _point_traces(figure)
    figure["data"] = [{"type": "scattergl", "mode": "markers",
                       "x": _data(np.concatenate([_array(trace["x"]) for trace in traces])),
                       "y": _data(np.concatenate([_array(trace["y"]) for trace in traces]))}]
    figure["layout"].pop("images", None)


def _no_click_grid(figure: dict) -> None:
    figure["data"][0] |= {"x": [], "y": []}


def _no_background(figure: dict) -> None:
    figure["layout"].pop("images", None)


def _combined(*changes: Callable[[dict], None]) -> Callable[[dict], None]:
    def change(figure: dict) -> None:
        for each in changes:
            each(figure)
    return change


VARIANTS: dict[str, Callable[[dict], dict]] = {
    "page": lambda figure: figure,
    "before: one trace styled point by point, margins pushed": _edit(_combined(_one_trace, _pushed_margins)),
    "one trace styled point by point": _edit(_one_trace),
    "margins pushed": _edit(_pushed_margins),
    "no click grid": _edit(_no_click_grid),
    "no decoded grid under it": _edit(_no_background),
    "bare scattergl (x, y only)": _edit(_bare),
}


def _browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])


def _folder(figure: dict) -> Path:
    """A folder holding the page, plotly.js and the figure's JSON (as the string Streamlit parses)."""
    folder = Path(tempfile.mkdtemp(prefix="map-draw-"))
    shutil.copy(PLOTLY_JS, folder / "plotly.min.js")
    figure = copy.deepcopy(figure)
    figure["layout"]["width"] = WIDTH
    (folder / "spec.js").write_text("window.SPEC = " + json.dumps(json.dumps(figure)) + ";\n")
    (folder / "index.html").write_text(_PAGE)
    return folder


def time_draws(figures: dict[str, dict], runs: int = RUNS, then: dict | None = None) -> tuple[dict, dict]:
    """Seconds over ``runs`` fresh pages of parsing and drawing each figure (and of Plotly.react with ``then``);
    the figures take turns, run by run, so that a change in the machine's load falls on all of them alike.
    Returns (figures: per variant, a bench.stats figure per part and the spec's size; details: per variant its
    WebGL canvases and margins, and the load after each round)."""
    from playwright.sync_api import sync_playwright

    folders = {name: _folder(spec) for name, spec in figures.items()}
    draws: dict[str, list[dict]] = {name: [] for name in figures}
    loads = []
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for _ in range(runs):
                for name, folder in folders.items():
                    page.goto((folder / "index.html").as_uri())
                    draws[name].append(page.evaluate("(then) => draw(then)", then))
                loads.append(os.getloadavg()[0])
            browser.close()
    finally:
        for folder in folders.values():
            shutil.rmtree(folder)
    return summarise_draws(figures, draws, loads, then is not None)


def summarise_draws(figures: dict[str, dict], draws: dict[str, list[dict]], loads: list[float],
                    then: bool) -> tuple[dict, dict]:
    """:func:`time_draws`' figures and details from each variant's draws (the page's ``draw()`` results, in
    milliseconds) and the load after each round."""
    timed, details = {}, {"load_1min_each_round": [round(load, 2) for load in loads], "variants": {}}
    for name, spec in figures.items():
        done = draws[name]
        timed[name] = {"spec_mb": figure([len(json.dumps(spec)) / 1e6], "MB", "lower")}
        for part in ("parse_ms", "draw_ms", "then_ms") if then else ("parse_ms", "draw_ms"):
            timed[name][part.replace("_ms", "_s")] = figure([draw[part] / 1000 for draw in done], "s", "lower")
        details["variants"][name] = {"webgl_canvases": done[-1]["gl"],
                                     "margins": {side: round(done[-1]["margins"][side]) for side in "lrtb"}}
    return timed, details


def _where(source: list[str], line: int, column: int, width: int = 70) -> str:
    text = source[line] if 0 <= line < len(source) else ""
    return text[max(0, column - 10): column + width].replace("\n", " ")


def profile_draw(figure: dict, top: int = 30) -> dict:
    """The functions with the most self time and the most total time (theirs and their callees') in one draw of
    ``figure`` (DevTools' sampling profiler, 0.1 ms), each with the start of its minified source."""
    from playwright.sync_api import sync_playwright

    folder = _folder(figure)
    source = PLOTLY_JS.read_text().split("\n")
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((folder / "index.html").as_uri())
            cdp = page.context.new_cdp_session(page)
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 100})
            cdp.send("Profiler.start")
            drawn = page.evaluate("() => draw(null)")
            profile = cdp.send("Profiler.stop")["profile"]
            browser.close()
    finally:
        shutil.rmtree(folder)
    self_us: dict[int, float] = defaultdict(float)
    # timeDeltas[i] is the time before sample i: a sample lasts until the next one
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"][1:] + [0], strict=True):
        self_us[node_id] += delta
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", ())}

    def function(node_id: int) -> tuple:
        frame = nodes[node_id]["callFrame"]
        return (frame["functionName"] or "(anonymous)", frame["url"].rsplit("/", 1)[-1], frame["lineNumber"],
                frame["columnNumber"])

    own: dict[tuple, float] = defaultdict(float)
    total: dict[tuple, float] = defaultdict(float)
    for node_id, us in self_us.items():
        own[function(node_id)] += us
        on_stack, at = set(), node_id
        while at is not None:
            on_stack.add(function(at))
            at = parent.get(at)
        for name in on_stack:  # a recursive function counts once per sample
            total[name] += us

    def listed(table: dict[tuple, float]) -> list[dict]:
        rows = sorted(table.items(), key=lambda item: -item[1])[:top]
        return [{"ms": round(us / 1000, 1), "function": name, "at": f"{url}:{line + 1}:{column + 1}",
                 "source": _where(source, line, column) if url == "plotly.min.js" else ""}
                for (name, url, line, column), us in rows]

    return {"draw_ms": round(drawn["draw_ms"], 1), "profiled_ms": round(sum(self_us.values()) / 1000, 1),
            "self": listed(own), "total": listed(total)}


def _load() -> list[float]:
    return [round(load, 2) for load in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.map_draw", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS), metavar="NAME",
                        help=f"variants to time (default all): {', '.join(VARIANTS)}")
    parser.add_argument("--then", action="store_true",
                        help="also time Plotly.react with the modes Streamlit sets after the first draw")
    parser.add_argument("--profile", nargs="?", const="page", choices=list(VARIANTS), metavar="NAME",
                        help="profile one draw of a variant (default: the page's figure)")
    parser.add_argument("--out", type=Path,
                        help="JSON file to write (default bench/results/<date>-<time>-<commit>-map-draw.json)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    page_figure = explore_figure()
    details: dict = {"figure_built_s": round(time.perf_counter() - start, 1), "load_before": _load()}
    # the bytes of the figure's JSON, as Streamlit sends it (issue 30: <= 3 MB for 70,000 points)
    figures: dict = {"payload_bytes": figure([len(json.dumps(page_figure))], "bytes", "lower")}
    if args.variants:
        variants = {name: VARIANTS[name](page_figure) for name in args.variants}
        figures["variants"], drawn = time_draws(variants, args.runs, SELECTABLE_MODES if args.then else None)
        details |= drawn
    if args.profile:
        details["profile"] = {args.profile: profile_draw(VARIANTS[args.profile](page_figure))}
    arguments = {"runs": args.runs, "variants": args.variants, "then": args.then, "profile": args.profile}
    doc, out = write("map-draw", figures, details, arguments, args.out)
    if "profile" in details:
        print(json.dumps(details["profile"], indent=1))
    print(markdown_table(doc))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
