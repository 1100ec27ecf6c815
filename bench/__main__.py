"""`python -m bench`: run the benchmark suite, write JSON and print a readable table."""

import argparse
import json
import sys
from pathlib import Path

from bench.suite import run

DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


def table(results: dict) -> str:
    """One figure a line: ``name  value``, nested figures flattened as ``parent.child``."""
    rows = []
    for key, value in results.items():
        if isinstance(value, dict):
            rows += [(f"{key}.{inner}", inner_value) for inner, inner_value in value.items()]
        else:
            rows.append((key, value))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--quick", action="store_true", help="smaller sizes: under a minute or two on 2 cores")
    scale.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON file to write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    results = run(name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
