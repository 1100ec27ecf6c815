"""The README's screenshots of the real app at 1280x720: `.venv/bin/python scripts/screenshots.py`.

Starts the dashboard as users do (``python -m aecore.ui.launcher``, the entry point of ``autoencoder-lab``) on a
free port with a temporary data folder, drives Debian's Chromium (never ``playwright install``) through Home,
Train mid-run, Explore, Interpolate, the Class board and the presenter view, and writes small palette PNGs to
docs/screenshots/. About two minutes on two cores.
"""

from __future__ import annotations

import argparse
import io
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
SIZE = {"width": 1280, "height": 720}
PLOTS_DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')].every(
    (plot) => plot._fullLayout && plot._fullData && plot.querySelector('.main-svg'))"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(data_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    with log.open("w") as output:
        server = subprocess.Popen([sys.executable, "-m", "aecore.ui.launcher", "--port", str(port), "--host",
                                   "127.0.0.1", "--data-dir", str(data_dir)], cwd=ROOT, stdout=output,
                                  stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while "teacher's link" not in log.read_text():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit(f"the dashboard did not start:\n{log.read_text()}")
        time.sleep(0.5)
    url = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(url + "/_stcore/health", timeout=5).read()
    return server, url


def _settle(page) -> None:
    """The app connected and its script done (as tests/streamlit_server.settle), then its charts drawn."""
    time.sleep(0.5)
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached")
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached")
    page.wait_for_function(PLOTS_DRAWN)
    page.wait_for_function("() => [...document.images].every((img) => img.complete)")
    time.sleep(1.0)  # animations and fonts finish


def _save(page, name: str) -> Path:
    """The viewport as a palette PNG (a few tens of KB instead of a few hundred)."""
    picture = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    path = OUT / f"{name}.png"
    picture.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1024:.0f} KB")
    return path


def _scroll_to(page, selector: str, block: str = "center") -> None:
    """Bring the first element matching ``selector`` into sight (by script: a live page redraws it meanwhile)."""
    page.evaluate("([selector, block]) => document.querySelector(selector)?.scrollIntoView({block})",
                  [selector, block])
    time.sleep(0.5)


def _open(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    _settle(page)


def take(url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport=SIZE).new_page()
        page.set_default_timeout(120_000)
        page.goto(url)
        expect(page.get_by_text("Input → code → reconstruction")).to_be_visible()
        _settle(page)
        page.get_by_test_id("stImage").nth(15).scroll_into_view_if_needed()  # the reconstructions in sight
        _save(page, "home")

        page.goto(url + "/train?preset=ae&latent=2&epochs=5")  # a 2-D code: its map needs no PCA
        _settle(page)
        page.get_by_role("button", name="Start new run").click()
        curves = page.locator(".js-plotly-plot").first
        expect(curves).to_be_visible(timeout=300_000)  # the run's first steps: loss curves, previews, latent map
        time.sleep(8)  # a few more steps
        _settle(page)
        _scroll_to(page, ".js-plotly-plot", "start")
        _save(page, "train")

        _open(page, "Explore")
        _scroll_to(page, ".js-plotly-plot")
        _save(page, "explore")
        _open(page, "Interpolate")
        _save(page, "interpolate")

        page.goto(url + "/explore?present=1")  # the presenter view, as the teacher's link opens it
        _settle(page)
        _save(page, "presenter")
        page.goto(url + "/board")  # last: the run started above has finished an epoch by now
        _settle(page)
        _save(page, "class-board")
        browser.close()


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aecore-shots-") as scratch:
        server, url = _start(Path(scratch) / "data", Path(scratch) / "server.log")
        try:
            take(url)
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
