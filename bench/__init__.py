"""Benchmarks for Autoencoder Lab: `python -m bench [--quick] [--out FILE]` (see bench/README.md)."""

import json
from pathlib import Path


def write_results(results: dict, out: Path | None) -> str:
    """A benchmark's figures as indented JSON, also written to ``out`` when given (its folder made); the text."""
    text = json.dumps(results, indent=2)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
    return text
