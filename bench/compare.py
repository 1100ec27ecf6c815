"""`python -m bench.compare OLD.json NEW.json`: two result files' figures side by side, regressions flagged.

For every figure in either file: its old and new median (and p95 where both have one), the change in per
cent, and REGRESSION where the new median is worse by more than the threshold (10 % by default) in the
figure's own direction (its ``better``: "lower" for times, "higher" for throughput, speed-ups and ratios; a
figure with neither is shown, never flagged; a figure that was 0, such as a count of tracebacks, regresses by
any step the wrong way). A regression whose old and new min - max ranges overlap is marked "(spreads
overlap)": the change may be the machine's noise.

Exit status: 0 when nothing regressed, 1 when at least one figure did, 2 when a file cannot be read as a
result file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.report import number
from bench.results import flat_figures, load

THRESHOLD_PERCENT = 10.0
STATISTICS = ("median", "p95")  # compared where both files have them


@dataclass(frozen=True)
class Change:
    """One statistic of one figure in both files."""

    name: str
    old: float | None
    new: float | None
    better: str | None
    overlap: bool  # the old and new min - max ranges overlap

    @property
    def percent(self) -> float | None:
        """The change from old to new in per cent of old (None when either is missing or old is 0)."""
        if self.old is None or self.new is None or self.old == 0:
            return None
        return (self.new - self.old) / abs(self.old) * 100

    def regressed(self, threshold: float = THRESHOLD_PERCENT) -> bool:
        """Whether the new value is worse than the old by more than ``threshold`` per cent, in the figure's
        direction."""
        if self.old is None or self.new is None or self.better is None:
            return False
        if self.old == 0:  # a count that was nought (tracebacks, exceptions): any step the wrong way
            return self.new > 0 if self.better == "lower" else self.new < 0
        percent = self.percent
        return percent > threshold if self.better == "lower" else percent < -threshold


def changes(old: Mapping, new: Mapping) -> list[Change]:
    """Each compared statistic of every figure in the result documents ``old`` and ``new`` (old's order first,
    then figures only in new)."""
    old_figures, new_figures = dict(flat_figures(old["figures"])), dict(flat_figures(new["figures"]))
    names = list(old_figures) + [name for name in new_figures if name not in old_figures]
    found = []
    for name in names:
        before, after = old_figures.get(name), new_figures.get(name)
        better = (after or before).get("better")
        overlap = bool(before and after and before["min"] <= after["max"] and after["min"] <= before["max"])
        for statistic in STATISTICS:
            if statistic == "median" or (before and after and statistic in before and statistic in after):
                label = name if statistic == "median" else f"{name} ({statistic})"
                found.append(Change(label, before.get(statistic) if before else None,
                                    after.get(statistic) if after else None, better, overlap))
    return found


def render(found: list[Change], threshold: float = THRESHOLD_PERCENT) -> str:
    """The changes as a plain-text table, one figure a line."""
    width = max([len(change.name) for change in found] + [6])
    lines = [f"{'figure':<{width}}  {'old':>10}  {'new':>10}  {'change':>8}  better"]
    for change in found:
        percent = "" if change.percent is None else f"{change.percent:+.1f}%"
        flag = ""
        if change.old is None or change.new is None:
            flag = "only in " + ("new" if change.old is None else "old")
        elif change.regressed(threshold):
            flag = "REGRESSION" + (" (spreads overlap)" if change.overlap else "")
        lines.append(f"{change.name:<{width}}  {number(change.old):>10}  {number(change.new):>10}  {percent:>8}  "
                     f"{change.better or '':<6}  {flag}".rstrip())
    return "\n".join(lines)


def _differences(old: Mapping, new: Mapping) -> list[str]:
    """Warnings where the two files were not measured alike (another part, machine or scale)."""
    notes = []
    if old.get("part") != new.get("part"):
        notes.append(f"different parts: {old.get('part')} and {new.get('part')}")
    for key in ("cpu", "cores", "gpu"):
        if old.get("machine", {}).get(key) != new.get("machine", {}).get(key):
            notes.append(f"different machines: {key} {old['machine'].get(key)} and {new['machine'].get(key)}")
    if old.get("arguments") != new.get("arguments"):
        notes.append(f"different arguments: {old.get('arguments')} and {new.get('arguments')}")
    return notes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0],
                                     epilog="exit status: 0 no regression, 1 a regression, 2 unreadable files")
    parser.add_argument("old", type=Path, help="the earlier result file")
    parser.add_argument("new", type=Path, help="the later result file")
    parser.add_argument("--threshold", type=float, default=THRESHOLD_PERCENT,
                        help=f"per cent worse that counts as a regression (default {THRESHOLD_PERCENT:g})")
    args = parser.parse_args(argv)
    try:
        old, new = load(args.old), load(args.new)
    except (OSError, ValueError) as error:  # json.JSONDecodeError is a ValueError
        print(f"bench.compare: {error}", file=sys.stderr)
        return 2
    found = changes(old, new)
    for note in _differences(old, new):
        print(f"note: {note}")
    print(render(found, args.threshold))
    regressions = [change.name for change in found if change.regressed(args.threshold)]
    print(f"\n{len(regressions)} regression{'s' if len(regressions) != 1 else ''} over {args.threshold:g} %"
          + (f": {', '.join(regressions)}" if regressions else ""))
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
