"""Benchmarks for Autoencoder Lab: `python -m bench [--quick] [--out FILE]` (see bench/README.md)."""

import datetime
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict:
    """Where and when figures were measured: CPU model, cores, memory, the commit and the date."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), "unknown")
    memory_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                      if line.startswith("MemTotal")), 0)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory_kb / 1e6, 1), "commit": commit,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def write_results(results: dict, out: Path | None) -> str:
    """A benchmark's figures as indented JSON, also written to ``out`` when given (its folder made); the text."""
    text = json.dumps(results, indent=2)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
    return text
