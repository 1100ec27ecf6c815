"""The engine's imports: only aecore/ui may import streamlit, and imports run one way, all at the top."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AECORE = ROOT / "aecore"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in AECORE.rglob("*.py")}


def _top_level_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def _aecore_imports(path: Path) -> list[tuple[str, bool]]:
    """(imported aecore module, whether the import sits at module level) for every import in ``path``."""
    tree = ast.parse(path.read_text())
    at_top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from aecore.models import conv` imports the submodule aecore.models.conv
            targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                       for alias in node.names]
        found += [(target, id(node) in at_top) for target in targets if target.split(".")[0] == "aecore"]
    return found


def _import_graph() -> dict[str, set[str]]:
    return {name: {target for target, _ in _aecore_imports(path) if target in MODULES and target != name}
            for name, path in MODULES.items()}


def test_no_module_outside_ui_imports_streamlit():
    offenders = [str(path.relative_to(AECORE)) for path in AECORE.rglob("*.py")
                 if "ui" not in path.relative_to(AECORE).parts[:1] and "streamlit" in _top_level_modules(path)]
    assert offenders == []


def test_the_package_import_graph_has_no_cycle():
    graph, state, cycles = _import_graph(), {}, []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_aecore_imports_sit_at_the_top_of_their_modules():
    lazy = [f"{name} imports {target} inside a function" for name, path in sorted(MODULES.items())
            for target, at_top in _aecore_imports(path) if not at_top]
    assert lazy == []


def test_config_is_a_leaf():
    assert _import_graph()["aecore.config"] <= {"aecore.errors"}


def test_checkpoints_know_no_training():
    assert not _import_graph()["aecore.checkpoints"] & {"aecore.training", "aecore.events", "aecore.objectives"}


def test_importing_the_engine_loads_no_streamlit_and_no_dataset():
    code = ("import sys, aecore.cli, aecore.training, aecore.checkpoints, aecore.presets, aecore.latent;"
            "assert 'streamlit' not in sys.modules;"
            "import aecore.data as d; assert d._read_idx_dataset.cache_info().currsize == 0;"
            "assert 'sklearn' not in sys.modules and 'torchvision' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
