"""Result files: every benchmark run writes one JSON file, committed under bench/results/.

File name: ``<YYYY-MM-DD>-<HHMM>-<short commit>-<part>.json`` (UTC), e.g.
``2026-12-07-0135-f426680-suite.json``. The date and commit say what was measured; the minutes let two runs
of a part on one day and commit (before and after the machine quietened, say) both be kept, and make the
names sort by time. ``part`` names the benchmark: ``suite`` (``suite-quick`` at the quick scale),
``projection``, ``map-draw``, ``stream``, ``load``.

A file holds one document (:func:`document`)::

    {"format": 1, "part": "suite", "arguments": {...the command line's settings...},
     "machine": {cpu, cores, memory_gb, gpu, commit, dirty, date, python, platform, load_1min},
     "versions": {"torch": "2.14.1", ..., "ray": null where not installed},
     "figures": {name: figure | {name: figure, ...}, ...},   # bench.stats.figure: median, spread, samples
     "details": {...what else the benchmark reports: raw outputs, settings, errors...}}

Figures may nest (``epoch_s`` -> ``ae``): :func:`flat_figures` names them ``epoch_s.ae``.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from bench import library_versions, machine
from bench.stats import is_figure

FORMAT = 1
RESULTS_DIR = Path(__file__).resolve().parent / "results"
_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{4}-[0-9a-f]+(?:-dirty)?-(?P<part>[a-z0-9-]+)\.json$")


def document(part: str, figures: Mapping, details: Mapping | None = None, arguments: Mapping | None = None,
             machine_info: Mapping | None = None, versions: Mapping | None = None) -> dict:
    """One run's result document: its part, arguments, the machine and library versions (measured now unless
    given), its figures (bench.stats.figure dicts, possibly nested) and any details."""
    return {"format": FORMAT, "part": part, "arguments": dict(arguments or {}),
            "machine": dict(machine_info if machine_info is not None else machine()),
            "versions": dict(versions if versions is not None else library_versions()),
            "figures": dict(figures), "details": dict(details or {})}


def file_name(doc: Mapping) -> str:
    """``<YYYY-MM-DD>-<HHMM>-<commit>-<part>.json`` for a document, from its machine's date and commit (a tree
    with uncommitted changes gets ``-dirty`` after the commit)."""
    info = doc["machine"]
    when = datetime.datetime.fromisoformat(info["date"]).astimezone(datetime.UTC)
    commit = (info.get("commit") or "nocommit") + ("-dirty" if info.get("dirty") else "")
    return f"{when:%Y-%m-%d-%H%M}-{commit}-{doc['part']}.json"


def save(doc: Mapping, out: Path | None = None, folder: Path = RESULTS_DIR) -> Path:
    """Write ``doc`` as indented JSON to ``out``, or to ``folder``/:func:`file_name` (the folder made); the path."""
    path = out if out is not None else folder / file_name(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def load(path: Path) -> dict:
    """A result document from its file (ValueError if it is not one)."""
    doc = json.loads(Path(path).read_text())
    if not isinstance(doc, dict) or "figures" not in doc or "part" not in doc:
        raise ValueError(f"{path} is not a benchmark result file (no part or figures)")
    return doc


def part_of(path: Path) -> str | None:
    """The part a result file's name says (None for a name not in bench/results' scheme)."""
    match = _NAME.match(Path(path).name)
    return match.group("part") if match else None


def latest(part: str, folder: Path = RESULTS_DIR) -> Path | None:
    """The newest result file of ``part`` in ``folder`` (by the date in its name), or None."""
    files = sorted(path for path in folder.glob("*.json") if part_of(path) == part)
    return files[-1] if files else None


def flat_figures(figures: Mapping, prefix: str = "") -> Iterator[tuple[str, dict]]:
    """Every figure in a (nested) figures dict, as (dotted name, figure), in the dict's order."""
    for name, value in figures.items():
        if is_figure(value):
            yield prefix + name, value
        elif isinstance(value, Mapping):
            yield from flat_figures(value, f"{prefix}{name}.")


def write(part: str, figures: Mapping, details: Mapping | None = None, arguments: Mapping | None = None,
          out: Path | None = None) -> tuple[dict, Path]:
    """Make a run's :func:`document` and :func:`save` it (to ``out``, else to bench/results/ under its
    :func:`file_name`); the document and where it went."""
    doc = document(part, figures, details, arguments)
    return doc, save(doc, out)
