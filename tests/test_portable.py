"""Linux, macOS and Windows: worker processes start with the spawn method everywhere (Linux's default is fork, which
Windows lacks and macOS warns against), and the product imports no POSIX-only module unguarded."""

import ast
import multiprocessing.context
from pathlib import Path

from aecore.jobs import LocalPool, SlicedPool
from aecore.jobs.projection_work import Projections

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = [*(ROOT / "aecore").rglob("*.py"), ROOT / "app.py", ROOT / "serve.py", *(ROOT / "views").glob("*.py")]
POSIX_ONLY = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix"}
POSIX_SIGNALS = {"SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGCHLD", "SIGALRM", "SIGQUIT", "SIGSTOP", "SIGCONT"}


def test_the_training_pool_spawns_its_workers():
    pool = LocalPool({"cpu": 1})
    try:
        assert pool._context.get_start_method() == "spawn"
        assert issubclass(pool._context.Process, multiprocessing.context.SpawnProcess)
        executor, _ = pool._executor("cpu")
        assert executor._mp_context.get_start_method() == "spawn"
    finally:
        pool.shutdown()


def test_the_sliced_pool_spawns_its_workers():
    pool = SlicedPool(workers=1, threads=1)
    try:
        assert pool._context.get_start_method() == "spawn"
        assert all(isinstance(worker.process, multiprocessing.context.SpawnProcess) for worker in pool._workers)
    finally:
        pool.shutdown()


def test_the_projection_workers_are_spawned():
    projections = Projections(spare=False)
    try:
        assert projections._context.get_start_method() == "spawn"
    finally:
        projections.shutdown()


def _unguarded_imports(tree: ast.Module) -> set[str]:
    """Modules imported at module level outside an ``if`` (a platform check guards the others)."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_product_needs_no_posix_only_module_nor_signal():
    offenders = []
    for path in PRODUCT:
        tree = ast.parse(path.read_text())
        offenders += [f"{path.relative_to(ROOT)} imports {name}" for name in _unguarded_imports(tree) & POSIX_ONLY]
        offenders += [f"{path.relative_to(ROOT)} uses signal.{node.attr}" for node in ast.walk(tree)
                      if isinstance(node, ast.Attribute) and node.attr in POSIX_SIGNALS]
        offenders += [f"{path.relative_to(ROOT)} uses the fork start method" for node in ast.walk(tree)
                      if isinstance(node, ast.Constant) and node.value in ("fork", "forkserver")]
    assert offenders == []
