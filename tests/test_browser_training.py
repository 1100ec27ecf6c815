"""Training in the real browser: `streamlit run` on 127.0.0.1 (a server of its own, so that this file and
tests/test_browser.py run side by side), driven by Debian's headless Chromium through Playwright.

Starts a short training and watches the loss chart and the reconstructions appear and change by themselves;
trains each kind of preset after a page switch; a second student queues for the CPU; uploads a zip of labelled
images and trains on it; trains in the presenter view at 1280x720. Asserts that no exception element shows
anywhere. With AECORE_TEST_SCREENSHOTS=1, screenshots go to tests/screenshots/ (git-ignored) for people to look
at. The browser, the server and a fresh tab per test come from tests/conftest.py.
"""

import re
import time
from contextlib import suppress
from pathlib import Path

from streamlit_server import (
    choose,
    no_exceptions,
    open_page,
    require_chromium,
    served_app,
    settle,
    shoot,
    stop_my_run,
    visit,
)

from aecore.presets import preset_config
from aecore.ui.sidebar import describe

require_chromium()

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # noqa: E402
from playwright.sync_api import expect  # noqa: E402


def _stop(page, tries: int = 3) -> None:
    """Stop this page's run until the page says it ended ("Stopped ..." or "Finished ..."), Start new run enabled:
    a click that lands while the live view reruns can be lost, and a run left training (the toy preset has 5,000
    epochs) would share the worker with the next test's runs. The page settles first, so that Stop's state is the
    run's (a disabled Stop: the run has ended, nothing to click)."""
    stop = page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop")
    ended = page.get_by_text(re.compile(r"Stopped (after|in epoch)|Finished \d+ epoch"))
    for attempt in range(tries):
        settle(page)
        if stop.is_enabled():
            with suppress(PlaywrightTimeoutError):
                stop.click(timeout=5_000)
        try:
            expect(ended).to_be_visible(timeout=15_000)
            expect(page.get_by_role("button", name="Start new run")).to_be_enabled()
            return
        except AssertionError:
            if attempt == tries - 1:
                raise


def test_live_training_moves_the_chart_and_the_reconstructions(page):
    open_page(page, "Train")
    page.get_by_role("button", name="Start new run").click()
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart).to_be_visible(timeout=90_000)
    images = page.get_by_test_id("stImage")
    expect(images.first).to_be_visible(timeout=90_000)
    status = page.get_by_text(re.compile(r"Epoch \d+ of \d+ · step \d+ of \d+"))
    expect(status).to_be_visible()
    first_status, first_picture = status.inner_text(), images.first.locator("img").get_attribute("src")
    # no clicks: the page must update by itself
    expect(status).not_to_have_text(first_status, timeout=30_000)
    expect(images.first.locator("img")).not_to_have_attribute("src", first_picture, timeout=30_000)
    shoot(page, "train-live")
    no_exceptions(page)
    open_page(page, "Home")  # leaving the page neither stops nor blocks the run
    open_page(page, "Train")
    expect(page.get_by_text("Training on CPU")).to_be_visible()
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
    expect(page.get_by_text(re.compile("Stopped (after|in epoch)"))).to_be_visible(timeout=30_000)
    no_exceptions(page)
    shoot(page, "train-stopped")


PRESET_KINDS = ("ae", "stacked-ae", "denoising-ae", "sparse-ae", "conv-ae", "vae", "lecture-002-toy")  # one of each


def test_each_kind_of_preset_trains_with_its_own_settings_after_a_page_switch(page):
    """Teacher mode's first promise: a preset picked, then a visit to another page, then Start trains exactly
    what the preset names (a stale widget value used to win after the page switch)."""
    open_page(page, "Train")
    for name in PRESET_KINDS:
        expected = describe(preset_config(name)).replace("**", "")
        preset_box = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Preset")
        choose(page, preset_box, name)
        settle(page)
        open_page(page, "Home")
        open_page(page, "Train")
        expect(page.get_by_text(f"Next run: {expected}", exact=True)).to_be_visible()
        page.get_by_role("button", name="Start new run").click()
        expect(page.get_by_text(f"This run: {expected}", exact=True)).to_be_visible(timeout=60_000)
        _stop(page)
        expect(page.get_by_role("button", name="Start new run")).to_be_enabled(timeout=60_000)
        no_exceptions(page)


def test_two_students_train_at_once_and_a_closed_tab_keeps_its_run(browser, tmp_path):
    """One worker on 2 cores: A trains; B presses Start on the same settings and watches A's run (one training for
    both), then asks for an own copy, which trains beside A's at once (time slices); A's tab closes and A's run
    goes on; A opens the page again, finds the run and stops it. On a server of its own: its worker must hold these
    runs only (on the module's server it once found a third run training beside them)."""
    with served_app(tmp_path / "streamlit.log", {"AECORE_RUNS_DIR": str(tmp_path / "runs")}) as server:
        first = browser.new_context(viewport={"width": 1600, "height": 1000})
        second = browser.new_context(viewport={"width": 1600, "height": 1000})
        try:
            pages = []
            for context in (first, second):
                page = visit(context, server + "/train")
                pages.append(page)
            a, b = pages
            a.get_by_role("button", name="Start new run").click()
            expect(a.get_by_text("Training on CPU")).to_be_visible(timeout=90_000)
            b.get_by_role("button", name="Start new run").click()
            expect(b.get_by_text(re.compile(r"one run for the 2 of you"))).to_be_visible(timeout=30_000)
            b.get_by_role("button", name="My own copy").click()
            # the copy's first time slice (until then its page says "Starting: ...") came after more than 30 s once,
            # on a loaded 2-core machine: the copy had been made and went on to train
            expect(b.get_by_text(re.compile(r"sharing a worker with 1 other run"))).to_be_visible(timeout=60_000)
            expect(a.get_by_text(re.compile(r"sharing a worker with 1 other run"))).to_be_visible(timeout=30_000)
            shoot(b, "train-shared")
            a.close()  # the tab closes: its session ends (2 s here), its run does not
            b.wait_for_timeout(4000)
            expect(b.get_by_text(re.compile(r"sharing a worker with 1 other run"))).to_be_visible()
            a = visit(first, server + "/train")
            expect(a.get_by_text("Training on CPU")).to_be_visible(timeout=30_000)
            a.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
            expect(b.get_by_text(re.compile(r"sharing a worker"))).to_have_count(0, timeout=30_000)
            no_exceptions(b)
            b.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
            expect(b.get_by_text(re.compile("Stopped (after|in epoch)"))).to_be_visible(timeout=30_000)
        finally:
            for context in (first, second):  # a run outlives its tab: stop what a failure left training
                stop_my_run(context, server)
                context.close()


def test_uploading_a_zip_of_labelled_images_and_training_one_epoch(browser, server):
    """...and the upload belongs to the session: closing the tab removes it once the session expires."""
    from test_pages import _faces_zip

    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = visit(context, server)
    open_page(page, "Your images")
    page.get_by_test_id("stMain").locator("input[type='file']").first.set_input_files(  # not the tours' loader
        files=[{"name": "faces.zip", "mimeType": "application/zip", "buffer": _faces_zip()}])
    page.get_by_role("button", name="Use these images").click()
    settle(page)
    expect(page.get_by_text(re.compile(r"angry: 6 images · happy: 6 images"))).to_be_visible(timeout=30_000)
    expect(page.get_by_text("1 file skipped", exact=False)).to_be_visible()
    epochs = page.get_by_test_id("stMainBlockContainer").get_by_label("Epochs", exact=True)
    epochs.fill("1")
    epochs.press("Enter")
    settle(page)
    page.get_by_role("button", name="Train on these images").click()
    expect(page.get_by_text(re.compile("Finished 1 epoch "))).to_be_visible(timeout=90_000)
    expect(page.get_by_role("button", name="Download codes and map as CSV")).to_be_visible(timeout=30_000)
    no_exceptions(page)
    shoot(page, "own-images")
    upload = Path(re.search(r"folder:(\S+)", page.get_by_text("This run:").first.inner_text()).group(1))
    assert upload.is_dir() and any(upload.rglob("*.png"))
    context.close()  # the uploads belong to the browser, not the session: a reload or another tab finds them
    time.sleep(3)  # the session is gone (2 s here)
    assert upload.is_dir() and any(upload.rglob("*.png")) and upload.name.startswith("aecore-upload-")


# the live view redraws every second: its charts and images are measured in one go, in the page
SCREEN_BOXES = """() => {
    const boxes = (selector) => [...document.querySelectorAll(selector)]
        .map((element) => element.getBoundingClientRect()).filter((box) => box.width > 0 && box.height > 0)
        .map((box) => [Math.round(box.left), Math.round(box.top), Math.round(box.right), Math.round(box.bottom)]);
    return {scrolled: document.querySelector('[data-testid=stMain]')?.scrollTop ?? 0,
            charts: boxes('[data-testid=stPlotlyChart]'), images: boxes('[data-testid=stImage] img')};
}"""
CHARTS_AND_IMAGES_ON_ONE_SCREEN = f"""([width, height]) => {{
    const {{scrolled, charts, images}} = ({SCREEN_BOXES})();
    const inside = ([left, top, right, bottom]) => left >= 0 && top >= 0 && right <= width + 1 && bottom <= height + 1;
    return scrolled === 0 && charts.length >= 2 && images.length >= 2 && charts.every(inside) && images.every(inside);
}}"""


def _charts_and_images_on_one_screen(page, width: int, height: int) -> None:
    """Wait until the page shows at least two charts and two images, all inside the first screen; else fail with
    their boxes (left, top, right, bottom), so that a miss says which."""
    try:
        page.wait_for_function(CHARTS_AND_IMAGES_ON_ONE_SCREEN, arg=[width, height], timeout=30_000)
    except PlaywrightTimeoutError:
        raise AssertionError(f"not all on a {width}x{height} screen: {page.evaluate(SCREEN_BOXES)}") from None


def test_training_in_the_presenter_view_shows_the_charts_and_the_reconstructions_on_one_screen(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = visit(context, f"{server}/train?present=1")
        page.get_by_role("button", name="Start new run").click()
        reconstructions = page.get_by_test_id("stImage").last  # unseen test images over their reconstructions
        expect(reconstructions).to_be_visible(timeout=90_000)
        _charts_and_images_on_one_screen(page, 1280, 720)
        expect(page.get_by_text(re.compile(r"^Next run:"))).to_have_count(0)  # "This run" says it while it trains
        shoot(page, "present-train-1280x720")
        _stop(page)
        expect(page.get_by_role("button", name="Start new run")).to_be_enabled(timeout=60_000)
        no_exceptions(page)
    finally:
        context.close()

