"""Benchmarks for Autoencoder Lab: `python -m bench [--quick] [--out FILE]` (see bench/README.md).

This module says where figures were measured (:func:`machine`) and with what (:func:`library_versions`);
bench.stats measures and summarises them, bench.results writes them to files, bench.report turns the latest
files into bench/README.md's tables and bench.compare sets two files side by side.
"""

import datetime
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("torch", "numpy", "streamlit", "plotly", "openTSNE", "umap-learn", "pynndescent", "numba",
             "scikit-learn", "ray", "playwright")
# changes here do not change a figure: a tree dirty only there still measures its commit
_NOT_MEASURED = (":!tests", ":!*.md", ":!bench/results")


def machine() -> dict:
    """Where and when figures were measured: CPU model, cores, memory, GPUs, the commit (and whether the
    tree had uncommitted changes outside tests and docs), the UTC date, Python, the OS and the 1-minute load."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    memory_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                      if line.startswith("MemTotal")), 0)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory_kb / 1e6, 1), "gpu": gpus(),
            "commit": _git("rev-parse", "--short", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", *_NOT_MEASURED)),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(), "platform": platform.platform(),
            "load_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None}


def gpus() -> list[str]:
    """The GPUs' names (and memory), from nvidia-smi, else from torch when it is already imported; [] if none."""
    if shutil.which("nvidia-smi"):
        done = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                              capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return [line.strip() for line in done.stdout.splitlines() if line.strip()]
    torch = sys.modules.get("torch")  # importing torch here would cost seconds for a machine description
    if torch is not None and torch.cuda.is_available():
        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def library_versions() -> dict:
    """The installed version of each library in LIBRARIES (None where it is not installed)."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
