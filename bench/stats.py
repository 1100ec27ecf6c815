"""How every benchmark figure is measured and summarised: repetitions, interleaving, median and spread.

A *figure* is a dict made by :func:`figure`: the median of its samples, their spread (least, greatest,
first and third quartiles), how many there were, the samples themselves, the unit and which way is
better ("lower" for seconds, "higher" for throughput and speed-ups, None where neither is). The result
files (bench.results), the report (bench.report) and the comparison (bench.compare) read figures only
through these keys.

Ratios (ours against a library, sliced against alone) are measured in the same run with the sides
interleaved (:func:`interleaved`), and the ratio's samples are the per-round ratios
(:func:`ratios`), so a change in the machine's load falls on both sides of each ratio alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence

REPETITIONS = 5  # the least number of samples of a reported figure (the smoke runs take fewer)
SUMMARY_KEYS = ("median", "min", "max", "q1", "q3", "n", "samples", "unit", "better")
BETTER = ("lower", "higher", None)


def figure(samples: Sequence[float], unit: str, better: str | None, digits: int = 4,
           p95: bool | None = None) -> dict:
    """The summary of ``samples``: median, min, max, quartiles (q1, q3), n, the samples rounded to ``digits``
    significant digits, the unit and which way is better ("lower", "higher" or None). A p95 (the sample at 95 %
    of the sorted samples) is added with ``p95=True``, or by default from 20 samples on (latencies)."""
    if better not in BETTER:
        raise ValueError(f"better is one of {BETTER}, not {better!r}")
    values = [float(sample) for sample in samples]
    if not values:
        raise ValueError("a figure needs at least one sample")
    ordered = sorted(values)
    q1, q3 = (statistics.quantiles(ordered, n=4, method="inclusive")[::2] if len(ordered) > 1
              else (ordered[0], ordered[0]))
    summary = {"median": _round(statistics.median(ordered), digits), "min": _round(ordered[0], digits),
               "max": _round(ordered[-1], digits), "q1": _round(q1, digits), "q3": _round(q3, digits),
               "n": len(values), "samples": [_round(value, digits) for value in values], "unit": unit,
               "better": better}
    if p95 or (p95 is None and len(ordered) >= 20):
        summary["p95"] = _round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], digits)
    return summary


def is_figure(value: object) -> bool:
    """Whether ``value`` is a figure made by :func:`figure` (a dict with a median and its samples)."""
    return isinstance(value, Mapping) and "median" in value and "samples" in value


def _round(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}") if value == value and abs(value) != float("inf") else value


def seconds_of(call: Callable[[], object]) -> float:
    """Seconds one call of ``call`` takes (perf_counter)."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def repeat(measure: Callable[[], float], times: int = REPETITIONS, warm_up: int = 0) -> list[float]:
    """``times`` samples of ``measure`` (a callable returning one measurement, e.g. seconds), after
    ``warm_up`` untimed calls."""
    for _ in range(warm_up):
        measure()
    return [float(measure()) for _ in range(times)]


def interleaved(sides: Mapping[str, Callable[[], float]], rounds: int = REPETITIONS) -> dict[str, list[float]]:
    """``rounds`` samples of each side's ``measure()``, the sides taking turns within each round (A B, then
    B A, then A B...: each round starts one side later, so no side is always first after the other); the
    samples of each side in round order, so that sample i of every side comes from the same round."""
    names = list(sides)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        shift = round_number % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            samples[name].append(float(sides[name]()))
    return samples


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """The per-round ratios numerator / denominator of two interleaved sides' samples (same length: one a
    round), a ratio's samples."""
    if len(numerators) != len(denominators):
        raise ValueError(f"{len(numerators)} numerators for {len(denominators)} denominators: not one a round")
    return [n / d if d else float("inf") for n, d in zip(numerators, denominators, strict=True)]
