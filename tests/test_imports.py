"""The engine runs without the dashboard: only aecore/ui may import streamlit."""

import ast
import subprocess
import sys
from pathlib import Path

AECORE = Path(__file__).resolve().parent.parent / "aecore"


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_outside_ui_imports_streamlit():
    offenders = [str(path.relative_to(AECORE)) for path in AECORE.rglob("*.py")
                 if "ui" not in path.relative_to(AECORE).parts[:1] and "streamlit" in _imported_modules(path)]
    assert offenders == []


def test_importing_the_engine_loads_no_streamlit_and_no_dataset():
    code = ("import sys, aecore.cli, aecore.training, aecore.checkpoints, aecore.presets, aecore.latent;"
            "assert 'streamlit' not in sys.modules;"
            "import aecore.data as d; assert d._read_idx_dataset.cache_info().currsize == 0;"
            "assert 'sklearn' not in sys.modules and 'torchvision' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
