"""Where writable data goes: beside the code in a source checkout, in a per-user folder once installed.

A source checkout (``pyproject.toml`` beside ``aecore/``) keeps the folders ``make run`` has always used:
``checkpoints/runs`` and ``checkpoints/class``. An installed package (a wheel, pipx) never writes into
site-packages: its runs and class data go to the user's data folder (platformdirs: ``~/.local/share/
autoencoder-lab`` on Linux, ``~/Library/Application Support/autoencoder-lab`` on macOS,
``%LOCALAPPDATA%\\autoencoder-lab`` on Windows), or to ``--data-dir`` (``AECORE_HOME``).
A leaf: imports nothing of aecore.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "autoencoder-lab"
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout, or site-packages once installed


def in_source_checkout(root: Path = PROJECT_ROOT) -> bool:
    """True when aecore runs from the project's own tree (``make run``, the tests), not from an installed wheel."""
    return (root / "pyproject.toml").is_file() and (root / "aecore").is_dir()


def shipped_runs_dir() -> Path:
    """The folder of the runs that ship with the app (``pretrained/``, ``labs/``): the checkout's
    ``checkpoints/``, or ``autoencoder_lab/checkpoints/`` in site-packages once installed."""
    if in_source_checkout():
        return PROJECT_ROOT / "checkpoints"
    return PROJECT_ROOT / "autoencoder_lab" / "checkpoints"


def data_home() -> Path:
    """The folder for everything the app writes: ``AECORE_HOME`` (what ``--data-dir`` sets), else the
    checkout's ``checkpoints/`` in a source checkout, else the user's data folder."""
    if os.environ.get("AECORE_HOME"):
        return Path(os.environ["AECORE_HOME"]).expanduser()
    if in_source_checkout():
        return PROJECT_ROOT / "checkpoints"
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_runs_dir() -> Path:
    """Users' saved runs (``AECORE_RUNS_DIR`` overrides it): ``checkpoints/runs`` in a checkout."""
    return data_home() / "runs"


def default_class_dir() -> Path:
    """The class service's runs, uploads and database (``AECORE_DATA_DIR`` overrides it): ``checkpoints/class``
    in a checkout."""
    return data_home() / "class"
