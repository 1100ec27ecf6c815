"""What the browser tests share: the app served by `streamlit run` on a free local port, Debian's Chromium
(never `playwright install`), and a wait for a page's script to end."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
INSTALL_HINT = "install Debian's browser with `sudo apt-get install chromium` (never `playwright install`)"


def require_chromium() -> None:
    """Skip the calling test module when Chromium is missing; in CI, fail it instead."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests, but {CHROMIUM} is missing: {INSTALL_HINT}", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing: {INSTALL_HINT}", allow_module_level=True)


def launch_chromium(playwright):
    """Headless Chromium, started by Playwright (a ``sync_playwright()`` context)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def settle(page) -> None:
    """Wait until the app is connected and its script has finished running."""
    page.wait_for_timeout(200)
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached")
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served_app(log: Path, env: Mapping[str, str]) -> Iterator[str]:
    """serve.py running with ``env`` added to this process's environment, its output in ``log``; yields its URL
    once its health check answers, and stops it afterwards."""
    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false", "--server.disconnectedSessionTTL", "2"]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT,
                                   env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"streamlit did not start:\n{log.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(15)
