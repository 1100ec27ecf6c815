"""`python -m bench`: run the benchmark suite, write its result file and print its table.

The full and quick scales write ``bench/results/<date>-<time>-<commit>-suite.json`` (``-suite-quick``) by
default, the file to commit; ``--smoke`` (the test suite's tiny run) writes only where ``--out`` says.
"""

import argparse
import sys
from pathlib import Path

from bench.report import markdown_table
from bench.results import document, write
from bench.suite import run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--quick", action="store_true", help="smaller sizes: a few minutes on 2 cores")
    scale.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite (no file unless --out)")
    parser.add_argument("--out", type=Path, help="JSON file to write (default: bench/results/<date>-<time>-<commit>-"
                                                 "suite[-quick].json)")
    args = parser.parse_args(argv)
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    figures, details = run(name)
    part = "suite" if name == "full" else f"suite-{name}"
    if args.smoke and args.out is None:
        doc, path = document(part, figures, details, {"scale": name}), None
    else:
        doc, path = write(part, figures, details, {"scale": name}, args.out)
    print(markdown_table(doc))
    print(f"\nwrote {path}" if path else "\n(smoke run: no file written; --out FILE keeps one)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
