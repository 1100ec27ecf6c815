"""``autoencoder-lab``: the dashboard in one command, from any folder (the console script; ``make run`` too).

    autoencoder-lab [--port 8501] [--host 0.0.0.0] [--data-dir DIR] [-- STREAMLIT OPTIONS]
    autoencoder-lab train --preset ae --epochs 1      # any command of the engine's CLI (python -m aecore)
    autoencoder-lab fetch-data [--from DIR]           # how to add Fashion-MNIST offline (or copy it from DIR)

The dashboard starts in this process through Streamlit's own command line (``streamlit.web.cli.main`` with
``run <entry file>``, as ``streamlit hello`` does): pipx puts no ``streamlit`` on PATH, and the entry file
(``serve.py``, with ``app.py``, ``views/`` and ``.streamlit/config.toml`` beside it) ships inside the wheel.
The server prints the students' address and the teacher's link itself (aecore/ui/warm_up.py).

Writable data goes to ``--data-dir`` or, once installed, the user's data folder (aecore/paths.py), never
site-packages. The engine reads its folders from the environment when its modules are imported, so this module
imports none of them at the top: it sets the environment first, then imports the engine's CLI by name.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

from streamlit.web import cli as streamlit_cli

from aecore import __version__
from aecore.paths import APP_NAME, PROJECT_ROOT, data_home, in_source_checkout

DIST_NAME = "autoencoder-lab"
FETCH_DATA = "fetch-data"
FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_VALUED_OPTIONS = ("--port", "--host", "--data-dir")


def app_dir() -> Path:
    """The folder holding ``serve.py``, ``app.py``, ``views/`` and ``.streamlit/``: the checkout's root, or
    ``autoencoder_lab/`` in site-packages where the wheel puts them."""
    return PROJECT_ROOT if in_source_checkout() else PROJECT_ROOT / "autoencoder_lab"


def entry_file() -> Path:
    return app_dir() / "serve.py"


def version_text() -> str:
    try:
        version = metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:  # a checkout whose editable install predates the package's name
        version = __version__
    return f"{APP_NAME} {version} (streamlit {metadata.version('streamlit')}, Python {sys.version.split()[0]})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=APP_NAME, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Autoencoder Lab: start the dashboard (the default), or run a command of the engine.",
        epilog="commands (each takes --help):\n"
               "  train, sweep, eval, export, layers, presets, datasets, checkpoints\n"
               "                  the engine's command line, as `python -m aecore COMMAND`\n"
               f"  {FETCH_DATA}      how to add Fashion-MNIST offline (--from DIR copies its four files)\n\n"
               "Options after `--` go to Streamlit, e.g. `-- --server.maxUploadSize 100`.")
    parser.add_argument("--port", type=int, default=8501, help="the port students connect to (default 8501)")
    parser.add_argument("--host", metavar="ADDRESS",
                        help="the address to listen on: 0.0.0.0 (every network, what a class needs; Streamlit's "
                             "default) or 127.0.0.1 (this computer only)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help=f"where runs, the class's data and caches go (default: {data_home()})")
    parser.add_argument("--version", action="version", version=version_text())
    return parser


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    """(the launcher's options, the rest): the rest starts at the first command word or at ``--``."""
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--" or not token.startswith("-"):
            return argv[:index], argv[index:]
        index += 2 if token in _VALUED_OPTIONS else 1
    return argv, []


def use_data_dir(folder: Path) -> None:
    """Point every writable folder of the engine under ``folder`` (variables already set win)."""
    folder = folder.expanduser().resolve()
    os.environ["AECORE_HOME"] = str(folder)
    os.environ.setdefault("AECORE_RUNS_DIR", str(folder / "runs"))
    os.environ.setdefault("AECORE_DATA_DIR", str(folder / "class"))
    os.environ.setdefault("AECORE_PROJECTION_CACHE", str(folder / "cache" / "projections"))
    os.environ.setdefault("AECORE_IMAGE_CACHE", str(folder / "cache" / "images"))
    os.environ.setdefault("AECORE_DATASET_CACHE", str(folder / "cache" / "datasets"))


def fetch_data(argv: list[str]) -> int:
    """Fashion-MNIST, offline: say where it is looked for, or copy its four IDX files from ``--from DIR``."""
    parser = argparse.ArgumentParser(prog=f"{APP_NAME} {FETCH_DATA}",
                                     description="Add Fashion-MNIST without a network (nothing is downloaded).")
    parser.add_argument("--from", dest="source", type=Path, metavar="DIR",
                        help=f"a folder holding {', '.join(FASHION_FILES)}")
    args = parser.parse_args(argv)
    data = importlib.import_module("aecore.data")  # after the environment is set (see the module's description)
    places = (data.FASHION_MNIST_DEBIAN_DIR, data.FASHION_MNIST_COPY_DIR)
    if args.source is not None:
        missing = [name for name in FASHION_FILES if not (args.source / name).is_file()]
        if missing:
            print(f"{args.source} lacks {', '.join(missing)}", file=sys.stderr)
            return 2
        data.FASHION_MNIST_COPY_DIR.mkdir(parents=True, exist_ok=True)
        for name in FASHION_FILES:
            shutil.copyfile(args.source / name, data.FASHION_MNIST_COPY_DIR / name)
    found = next((place for place in places if all((place / name).is_file() for name in FASHION_FILES)), None)
    if found is None:
        print("Fashion-MNIST is not on this computer; MNIST (bundled) and every other dataset work without it.\n"
              "Autoencoder Lab never downloads data. To add Fashion-MNIST, either:\n"
              "  - on Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist\n"
              f"    (its files land in {data.FASHION_MNIST_DEBIAN_DIR}), or\n"
              f"  - get the four files {', '.join(FASHION_FILES)}\n"
              "    (github.com/zalandoresearch/fashion-mnist, data/fashion) on any computer, bring them over and run\n"
              f"    {APP_NAME} {FETCH_DATA} --from THAT_FOLDER   (copies them into {data.FASHION_MNIST_COPY_DIR})")
        return 1
    raw = data.load_fashion_mnist()  # reads and checks the files
    print(f"Fashion-MNIST is ready ({len(raw.train_x):,} training and {len(raw.test_x):,} test images, from {found}): "
          "pick it in the sidebar's dataset, or --dataset fashion-mnist")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The console script: the dashboard, or the engine's command ``argv[0]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    head, rest = _split(argv)
    args = build_parser().parse_args(head)
    if args.data_dir is not None:
        use_data_dir(args.data_dir)
    if rest and rest[0] == FETCH_DATA:
        return fetch_data(rest[1:])
    if rest and rest[0] != "--":
        return importlib.import_module("aecore.cli").main(rest)  # the engine's CLI, after the environment is set
    options = ["--server.port", str(args.port)]
    if args.host:
        options += ["--server.address", args.host]
    streamlit_args = ["run", str(entry_file()), *options, *rest[1:]]
    return streamlit_cli.main(args=streamlit_args, prog_name=APP_NAME)  # runs until the server stops


if __name__ == "__main__":
    sys.exit(main())
