"""`python -m bench.report`: bench/README.md's tables, generated from the latest result file of each part.

bench/README.md marks each generated table with a pair of comments naming a part (bench.results)::

    <!-- report:suite -->
    ...generated: replaced on every run...
    <!-- /report:suite -->

Between them goes the table of the newest ``bench/results/*-<part>.json`` (every figure: median, min - max,
quartiles, p95 where there is one, the number of samples, which way is better), then the file's name, machine
and commit. A marker may name one file instead of a part (``<!-- report:2026-12-07-0532-8202d85-load -->``, the
file's name without ``.json``): for the prose that discusses that run, where a newer file of its part measured
another scenario. Everything outside the markers is prose kept by hand. Running it twice changes nothing the second
time; ``--check`` only says whether the README is up to date (exit 1 if not).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from bench.results import RESULTS_DIR, flat_figures, latest, load, part_of

README = Path(__file__).resolve().parent / "README.md"
MARKERS = re.compile(r"(?P<open><!-- report:(?P<part>[a-z0-9-]+) -->)\n(?P<body>.*?)"
                     r"(?P<close><!-- /report:(?P=part) -->)", re.DOTALL)
OPENING = re.compile(r"<!-- report:([a-z0-9-]+) -->")
COMMANDS = {"suite": "python -m bench", "suite-quick": "python -m bench --quick",
            "projection": "python -m bench.projection", "map-draw": "python -m bench.map_draw",
            "stream": "python -m bench.stream", "load": "python -m bench.load", "pages": "python -m bench.pages",
            "follow": "python -m bench.follow"}


def number(value: float | None) -> str:
    """A figure's value as the tables show it: 4 significant digits, thousands separated."""
    if value is None:
        return ""
    if value != 0 and abs(value) < 0.001:
        return f"{value:.3g}"
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def markdown_table(doc: Mapping) -> str:
    """Every figure of a result document as a Markdown table, one a row."""
    rows = list(flat_figures(doc["figures"]))
    with_p95 = any("p95" in f for _, f in rows)
    header = ["figure", "median", "min - max", "q1 - q3"] + (["p95"] if with_p95 else []) + ["n", "better"]
    lines = ["| " + " | ".join(header) + " |",
             "|---|" + "---:|" * (len(header) - 2) + "---|"]
    for name, f in rows:
        unit = f" ({f['unit']})" if f.get("unit") else ""
        cells = [f"{name}{unit}", number(f["median"]), f"{number(f['min'])} - {number(f['max'])}",
                 f"{number(f.get('q1'))} - {number(f.get('q3'))}"]
        cells += [number(f.get("p95"))] if with_p95 else []
        cells += [str(f["n"]), f.get("better") or ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def provenance(doc: Mapping, path: Path) -> str:
    """The line under a table: its file, the machine, the commit and the date."""
    info = doc.get("machine", {})
    gpu = ", ".join(info.get("gpu") or []) or "no GPU"
    commit = info.get("commit", "?") + (" with uncommitted changes" if info.get("dirty") else "")
    arguments = ", ".join(f"{key} {'/'.join(map(str, value)) if isinstance(value, list) else value}"
                          for key, value in doc.get("arguments", {}).items())
    return (f"From `bench/results/{Path(path).name}`: {info.get('cpu', '?')}, {info.get('cores', '?')} cores, "
            f"{info.get('memory_gb', '?')} GB, {gpu}; commit {commit}, {info.get('date', '?')}"
            + (f"; {arguments}" if arguments else "") + ".")


def section(part: str, folder: Path = RESULTS_DIR) -> str:
    """What goes between a part's markers: the latest file's table and its provenance, or a line saying that
    there is no file yet. ``part`` may instead be one file's name (without ``.json``): that file's table."""
    if part_of(Path(f"{part}.json")) is not None:
        path = folder / f"{part}.json"
        if not path.exists():
            return f"_`bench/results/{path.name}`, which this table is pinned to, is missing._"
    else:
        path = latest(part, folder)
    if path is None:
        command = COMMANDS.get(part, "the part's benchmark")
        return f"_No result file for `{part}` in bench/results/ yet: `{command}` writes one._"
    doc = load(path)
    return markdown_table(doc) + "\n\n" + provenance(doc, path)


def regenerate(text: str, folder: Path = RESULTS_DIR) -> str:
    """``text`` (a README) with every marked section generated again from ``folder``'s latest files."""
    opened = OPENING.findall(text)
    closed = {match.group("part") for match in MARKERS.finditer(text)}
    if unclosed := [part for part in opened if part not in closed]:
        raise ValueError(f"report markers without their closing <!-- /report:PART -->: {', '.join(unclosed)}")
    return MARKERS.sub(lambda m: f"{m.group('open')}\n{section(m.group('part'), folder)}\n{m.group('close')}", text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--readme", type=Path, default=README, help=f"the file to update (default {README})")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help=f"result files (default {RESULTS_DIR})")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the tables are not up to date")
    args = parser.parse_args(argv)
    before = args.readme.read_text()
    try:
        after = regenerate(before, args.results)
    except ValueError as error:
        parser.error(str(error))
    parts = [match.group("part") for match in MARKERS.finditer(before)]
    if args.check:
        print(f"{args.readme}: {'up to date' if after == before else 'out of date'} ({', '.join(parts)})")
        return 0 if after == before else 1
    if after != before:
        args.readme.write_text(after)
    print(f"{args.readme}: {'updated' if after != before else 'unchanged'} ({', '.join(parts) or 'no markers'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
