"""The real thing: `streamlit run` on 127.0.0.1, driven by Debian's headless Chromium through Playwright.

Opens every page, moves a sidebar slider and checks it persists across pages,
starts a short training and watches the loss chart and the reconstructions
appear and change, asserting that no exception element shows anywhere. Opens
pages in the presenter view (``?present=1``) at 1280x720 and 1024x768 and checks
each page's main picture fits the screen, also under a lesson tour's bar; hovers
points of Compare's two maps for their images. Screenshots go to tests/screenshots/
(git-ignored) for people to look at.
"""

import io
import json
import re
import time
from pathlib import Path

import pytest
from PIL import Image
from streamlit_server import launch_chromium, require_chromium, served_app, settle

from aecore.presets import preset_config
from aecore.ui.navigation import PAGES
from aecore.ui.sidebar import describe

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "tests" / "screenshots"
require_chromium()

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"AECORE_RUNS_DIR": str(tmp_path_factory.mktemp("runs"))}
    with served_app(tmp_path_factory.mktemp("server") / "streamlit.log", env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server) -> Page:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = _visit(context, server)
    yield page
    context.close()


def _no_exceptions(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def _shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _visit(context, url: str) -> Page:
    """A new tab of ``context`` (a new session) on ``url``, its script done."""
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    settle(page)
    return page


def _open(page: Page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    settle(page)


def test_every_page_opens_without_an_exception(page):
    expect(page.get_by_role("heading", name="Autoencoder Lab")).to_be_visible()
    expect(page.get_by_test_id("stImage").first).to_be_visible()  # the input -> code -> reconstruction picture
    for spec in PAGES:
        _open(page, spec.title)
        title = spec.title if not spec.default else "Autoencoder Lab"
        expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
        _no_exceptions(page)
        _shoot(page, f"page-{spec.title.lower()}")


def test_sidebar_values_persist_across_pages(page):
    _open(page, "Train")
    slider = page.get_by_test_id("stSlider").filter(has_text="Latent size").get_by_role("slider")
    expect(slider).to_have_value("32")
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    settle(page)
    expect(slider).to_have_value("35")
    expect(page.get_by_text(re.compile(r"latent 35 ·")).first).to_be_visible()
    _open(page, "Home")
    _open(page, "Train")
    expect(page.get_by_text(re.compile(r"latent 35 ·")).first).to_be_visible()
    _no_exceptions(page)


def test_live_training_moves_the_chart_and_the_reconstructions(page):
    _open(page, "Train")
    page.get_by_role("button", name="Start new run").click()
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart).to_be_visible(timeout=90_000)
    images = page.get_by_test_id("stImage")
    expect(images.first).to_be_visible(timeout=90_000)
    status = page.get_by_text(re.compile(r"Epoch \d+ of \d+ · step \d+ of \d+"))
    expect(status).to_be_visible()
    first_status, first_picture = status.inner_text(), images.first.locator("img").get_attribute("src")
    page.wait_for_timeout(4000)  # no clicks: the page must update by itself
    expect(status).not_to_have_text(first_status)
    assert images.first.locator("img").get_attribute("src") != first_picture, "reconstructions did not change"
    _shoot(page, "train-live")
    _no_exceptions(page)
    _open(page, "Home")  # leaving the page neither stops nor blocks the run
    _open(page, "Train")
    expect(page.get_by_text("Training on CPU")).to_be_visible()
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
    expect(page.get_by_text(re.compile("Stopped after"))).to_be_visible(timeout=30_000)
    _no_exceptions(page)
    _shoot(page, "train-stopped")


def _choose(page: Page, box, option: str, tries: int = 3) -> None:
    """Open the select ``box`` and click ``option``; a click that lands while the page reruns can leave the list
    closed, so open it again."""
    for attempt in range(tries):
        box.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
            return
        except PlaywrightTimeoutError:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")
            settle(page)


PRESET_KINDS = ("ae", "stacked-ae", "denoising-ae", "sparse-ae", "conv-ae", "vae", "lecture-002-toy")  # one of each


def test_each_kind_of_preset_trains_with_its_own_settings_after_a_page_switch(page):
    """Teacher mode's first promise: a preset picked, then a visit to another page, then Start trains exactly
    what the preset names (a stale widget value used to win after the page switch)."""
    _open(page, "Train")
    for name in PRESET_KINDS:
        expected = describe(preset_config(name)).replace("**", "")
        preset_box = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Preset")
        _choose(page, preset_box, name)
        settle(page)
        _open(page, "Home")
        _open(page, "Train")
        expect(page.get_by_text(f"Next run: {expected}", exact=True)).to_be_visible()
        page.get_by_role("button", name="Start new run").click()
        expect(page.get_by_text(f"This run: {expected}", exact=True)).to_be_visible(timeout=60_000)
        page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
        expect(page.get_by_role("button", name="Start new run")).to_be_enabled(timeout=60_000)
        _no_exceptions(page)


def test_a_second_student_queues_for_the_cpu_and_a_closed_tab_frees_it(browser, server):
    """One CPU training slot: B waits (visibly) while A trains; A's tab closes, its job ends, B runs."""
    first = browser.new_context(viewport={"width": 1600, "height": 1000})
    second = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        pages = []
        for context in (first, second):
            page = _visit(context, server + "/train")
            pages.append(page)
        a, b = pages
        a.get_by_role("button", name="Start new run").click()
        expect(a.get_by_text("Training on CPU")).to_be_visible(timeout=90_000)
        b.get_by_role("button", name="Start new run").click()
        expect(b.get_by_text(re.compile(r"Waiting for a free training slot: 1st in line of 1"))).to_be_visible()
        _shoot(b, "train-queued")
        first.close()  # the tab closes: after the session expires (2 s here) its job stops and frees the slot
        expect(b.get_by_text("Training on CPU")).to_be_visible(timeout=60_000)
        _no_exceptions(b)
        b.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
        expect(b.get_by_text(re.compile("Stopped after"))).to_be_visible(timeout=30_000)
    finally:
        second.close()


def test_clicking_empty_space_on_the_latent_map_decodes_it(page):
    _open(page, "Explore")
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    page.wait_for_timeout(1500)  # let plotly finish its first draw
    plot_area = page.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(plot_area["x"] + 0.3 * plot_area["width"], plot_area["y"] + 0.2 * plot_area["height"])
    settle(page)
    expect(page.get_by_text(re.compile(r"decoded at \(-?\d+\.\d\d, -?\d+\.\d\d\)"))).to_be_visible(timeout=30_000)
    expect(page.get_by_text("nearest first", exact=False)).to_be_visible()
    _no_exceptions(page)
    _shoot(page, "explore-click")


# page coordinates of a point of the map's points (customdata [row, id]) well inside the plot area, and of the spot
# of the plot area farthest from every point (a distance transform over 6 px cells: linear in the points)
INNER_POINT_AND_EMPTY_SPOT = """(plot) => {
    const xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis, box = plot.getBoundingClientRect(), cell = 6;
    const columns = Math.floor(xa._length / cell), rows = Math.floor(ya._length / cell);
    const distance = new Int32Array(columns * rows).fill(-1), queue = [];
    let point = null, drawn = 0;
    for (const trace of plot._fullData) {
        if (trace.name !== 'images') continue;
        for (let i = 0; i < trace.x.length; i++, drawn++) {
            const x = xa.l2p(trace.x[i]), y = ya.l2p(trace.y[i]);
            if (!point && x > 40 && x < xa._length - 40 && y > 40 && y < ya._length - 40) point = [x, y];
            const c = Math.floor(x / cell), r = Math.floor(y / cell);
            if (c >= 0 && c < columns && r >= 0 && r < rows && distance[r * columns + c] < 0) {
                distance[r * columns + c] = 0;
                queue.push(r * columns + c);
            }
        }
    }
    for (let head = 0; head < queue.length; head++) {  // breadth first: each cell's steps to the nearest point
        const at = queue[head], r = Math.floor(at / columns), c = at % columns;
        for (const [dr, dc] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
            const nr = r + dr, nc = c + dc, next = nr * columns + nc;
            if (nr >= 0 && nr < rows && nc >= 0 && nc < columns && distance[next] < 0) {
                distance[next] = distance[at] + 1;
                queue.push(next);
            }
        }
    }
    let farthest = 0;
    for (let i = 1; i < distance.length; i++) if (distance[i] > distance[farthest]) farthest = i;
    const spot = [(farthest % columns + 0.5) * cell, (Math.floor(farthest / columns) + 0.5) * cell];
    const page = ([x, y]) => [box.left + xa._offset + x, box.top + ya._offset + y];
    return {point: page(point), spot: page(spot), drawn, clearance: distance[farthest] * cell};
}"""


def test_every_mnist_image_on_the_map_hovers_with_its_image_and_a_click_on_empty_space_decodes_it(browser, server):
    """70,000 points are drawn with WebGL, the click grid in SVG: each must still get its own hover and clicks."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = _visit(context, f"{server}/explore?images=all&cap=70000")
        page.wait_for_function("""() => [...document.querySelectorAll('.st-key-explore_map .js-plotly-plot')].some(
            (plot) => (plot._fullData || []).reduce((n, trace) => n + (trace.name === 'images' ? trace.x.length : 0),
                                                     0) === 70000)""", timeout=120_000)
        plot = page.locator(".st-key-explore_map .js-plotly-plot")
        expect(plot).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1500)  # the hover script looks for the chart twice a second
        where = plot.evaluate(INNER_POINT_AND_EMPTY_SPOT)
        assert where["drawn"] == 70_000 and where["clearance"] >= 18, where  # a spot clear of every point
        page.mouse.move(where["point"][0] - 3, where["point"][1] - 3)
        page.mouse.move(*where["point"])
        tip = page.get_by_test_id("hover-image")
        expect(tip).to_be_visible()
        expect(tip.locator(".caption")).to_have_text(re.compile(r"^(test|training) image \d+, class \d$"))
        page.mouse.click(*where["spot"])
        settle(page)
        expect(page.get_by_text(re.compile(r"decoded at \(-?\d+\.\d\d, -?\d+\.\d\d\)"))).to_be_visible(timeout=30_000)
        _no_exceptions(page)
    finally:
        context.close()


def test_drawing_a_digit_shows_its_reconstruction(page):
    _open(page, "Draw")
    canvas = page.locator("canvas.upper-canvas").first
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 70, box["y"] + 60)
    page.mouse.down()
    for i in range(15):  # the bar of a 7 ...
        page.mouse.move(box["x"] + 70 + 10 * i, box["y"] + 60)
    for i in range(18):  # ... and its stem
        page.mouse.move(box["x"] + 210 - 5 * i, box["y"] + 60 + 10 * i)
    page.mouse.up()
    settle(page)
    expect(page.get_by_text("its reconstruction")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Reconstruction error")).to_be_visible()
    _no_exceptions(page)
    _shoot(page, "draw")


def test_dragging_the_pad_decodes_live(page):
    _open(page, "Interpolate")
    pad = page.get_by_test_id("drag-pad").first
    pad.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    expect(pad).to_be_visible()
    caption = page.get_by_text(re.compile(r"^mix \d\.\d\d$"))
    expect(caption).to_have_text("mix 0.50")
    box = pad.bounding_box()
    middle = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, middle)
    page.mouse.down()
    for step in range(12):  # drag slowly to the right end: the image follows while dragging
        page.mouse.move(box["x"] + box["width"] * (0.5 + 0.04 * step), middle)
        page.wait_for_timeout(60)
    page.mouse.move(box["x"] + box["width"] * 0.95, middle)
    page.mouse.up()
    expect(caption).to_have_text(re.compile(r"mix 0\.9\d"), timeout=15_000)
    _no_exceptions(page)
    _shoot(page, "interpolate-drag")


def test_uploading_a_zip_of_labelled_images_and_training_one_epoch(browser, server):
    """...and the upload belongs to the session: closing the tab removes it once the session expires."""
    from test_pages import _faces_zip

    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = _visit(context, server)
    _open(page, "Your images")
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
    expect(page.get_by_text(re.compile("Finished 1 epochs"))).to_be_visible(timeout=90_000)
    expect(page.get_by_role("button", name="Download codes and map as CSV")).to_be_visible(timeout=30_000)
    _no_exceptions(page)
    _shoot(page, "own-images")
    upload = Path(re.search(r"folder:(\S+)", page.get_by_text("This run:").first.inner_text()).group(1))
    assert upload.is_dir() and any(upload.rglob("*.png"))
    context.close()
    deadline = time.monotonic() + 30
    while upload.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not upload.exists(), "the session's uploads outlived it"


def _fits(page: Page, locator, width: int, height: int) -> None:
    """``locator`` is wholly inside the first screen of the page (nothing scrolled)."""
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    scrolled = page.evaluate("document.querySelector('[data-testid=stMain]')?.scrollTop ?? 0")
    assert scrolled == 0
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= width + 1 and box["y"] + box["height"] <= height + 1, (box, width, height)


PRESENTED = (  # url path, name, the page's main picture
    ("", "home", lambda page: page.get_by_test_id("stImage").last),  # the last reconstruction of the strip
    ("explore", "explore", lambda page: page.get_by_test_id("stPlotlyChart").first),
    ("interpolate", "interpolate",
     lambda page: page.get_by_test_id("stImage").filter(has_text="decoded along the path").locator("img")),
    ("draw", "draw", lambda page: page.locator("canvas.upper-canvas").first),
    ("compare", "compare", lambda page: page.get_by_test_id("stPlotlyChart").last),
    ("denoise", "denoising", lambda page: page.get_by_test_id("stImage").first),
)


@pytest.mark.parametrize("size", [(1280, 720), (1024, 768)], ids=lambda size: f"{size[0]}x{size[1]}")
def test_presenter_view_fits_each_main_picture_on_one_screen(browser, server, size):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(90_000)
    elsewhere = []  # requests to any other host: nothing may be fetched from the network (fonts, icons, ...)
    page.on("request", lambda request: request.url.startswith((server, "data:", f"blob:{server}"))
            or elsewhere.append(request.url))
    try:
        for url_path, name, main_picture in PRESENTED:
            page.goto(f"{server}/{url_path}?present=1")  # a link opened by a new session
            settle(page)
            expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
            expect(page.get_by_test_id("stMainMenu")).to_be_hidden()
            expect(page.get_by_test_id("stExpandSidebarButton")).to_be_visible()  # the way back to the toggle
            size = "element => parseFloat(getComputedStyle(element).fontSize)"
            assert page.locator("html").evaluate(size) >= round(1.3 * 18, 1)  # the rem every text is sized in
            assert page.locator("h1").first.evaluate(size) >= 2.75 * 18  # the title keeps its usual size
            page.wait_for_timeout(1000)  # plotly's first draw
            _shoot(page, f"present-{name}-{width}x{height}")
            _fits(page, main_picture(page), width, height)
            _no_exceptions(page)
            assert "present=1" in page.url
        assert elsewhere == []
    finally:
        context.close()


# the live view redraws every second: its charts and images are measured in one go, in the page
CHARTS_AND_IMAGES_ON_ONE_SCREEN = """([width, height]) => {
    if ((document.querySelector('[data-testid=stMain]')?.scrollTop ?? 0) !== 0) return false;
    const boxes = (selector) => [...document.querySelectorAll(selector)]
        .map((element) => element.getBoundingClientRect()).filter((box) => box.width > 0 && box.height > 0);
    const charts = boxes('[data-testid=stPlotlyChart]'), images = boxes('[data-testid=stImage] img');
    const inside = (box) => box.left >= 0 && box.top >= 0 && box.right <= width + 1 && box.bottom <= height + 1;
    return charts.length >= 2 && images.length >= 2 && charts.every(inside) && images.every(inside);
}"""


def test_training_in_the_presenter_view_shows_the_charts_and_the_reconstructions_on_one_screen(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = _visit(context, f"{server}/train?present=1")
        page.get_by_role("button", name="Start new run").click()
        reconstructions = page.get_by_test_id("stImage").last  # unseen test images over their reconstructions
        expect(reconstructions).to_be_visible(timeout=90_000)
        page.wait_for_function(CHARTS_AND_IMAGES_ON_ONE_SCREEN, arg=[1280, 720], timeout=30_000)
        expect(page.get_by_text(re.compile(r"^Next run:"))).to_have_count(0)  # "This run" says it while it trains
        _shoot(page, "present-train-1280x720")
        page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
        expect(page.get_by_role("button", name="Start new run")).to_be_enabled(timeout=60_000)
        _no_exceptions(page)
    finally:
        context.close()


TOUR = json.loads((ROOT / "aecore" / "tours" / "lecture-001.json").read_text())  # home, explore, denoise, compare, ...


def test_a_lesson_tour_in_the_presenter_view_keeps_each_main_picture_on_one_screen(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    pictures = {url_path: picture for url_path, _, picture in PRESENTED}
    try:
        page = _visit(context, server + "/?present=1")
        page.get_by_test_id("stExpandSidebarButton").click()
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar).to_have_attribute("data-collapsed", "false")
        sidebar.get_by_text("Lesson tours").click()
        picker = sidebar.get_by_test_id("stSelectbox").filter(has_text="Tour")
        expect(picker).to_be_visible()
        page.wait_for_timeout(300)  # the expander's animation
        _choose(page, picker, TOUR["title"])
        settle(page)
        sidebar.get_by_role("button", name="Start", exact=True).click()
        settle(page)
        page.get_by_test_id("stSidebarCollapseButton").click()
        bar = page.locator(".st-key-tour_bar").first
        for number, step in enumerate(TOUR["steps"], start=1):
            if number > 1:
                page.locator(".st-key-tour_next button").first.click()  # under the header: the click goes through
                settle(page)
            expect(bar).to_contain_text(f"step {number} of {len(TOUR['steps'])}")
            expect(bar.locator(".tour-caption")).to_have_text(step["caption"])
            page.wait_for_timeout(1000)  # plotly's first draw
            _shoot(page, f"tour-lecture-001-step-{number}")
            assert bar.bounding_box()["height"] <= 80  # one row: the controls beside a caption of two lines at most
            assert bar.locator(".tour-caption").evaluate("caption => caption.scrollHeight <= caption.clientHeight + 1")
            url_path = page.url.removeprefix(server).split("?")[0].strip("/")
            _fits(page, pictures[url_path](page), 1280, 720)
            assert "present=1" in page.url  # Next keeps the presenter view, and says so in the link
            expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
            _no_exceptions(page)
    finally:
        context.close()


def test_hovering_a_point_on_either_compare_map_shows_its_image(page):
    _open(page, "Compare")
    plot = page.get_by_test_id("stPlotlyChart").last.locator(".js-plotly-plot")
    plot.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    tips = page.get_by_test_id("hover-image")
    for trace, side in enumerate(("left", "right")):
        x, y = plot.evaluate("""(plot, trace) => {  // a point of the trace well inside its subplot
            const data = plot._fullData[trace], xaxis = data._xA || plot._fullLayout.xaxis, yaxis = data._yA
                || plot._fullLayout.yaxis, box = plot.getBoundingClientRect();
            for (let i = 0; i < data.x.length; i++) {
                const x = xaxis._offset + xaxis.l2p(data.x[i]), y = yaxis._offset + yaxis.l2p(data.y[i]);
                if (x > xaxis._offset + 30 && x < xaxis._offset + xaxis._length - 30 && y > yaxis._offset + 30
                    && y < yaxis._offset + yaxis._length - 30) return [box.left + x, box.top + y];
            }
        }""", trace)
        page.mouse.move(x - 3, y - 3)
        page.mouse.move(x, y)
        tip = tips.nth(trace)  # one per map, in the order of the maps
        expect(tip).to_be_visible()
        expect(tip.locator(".caption")).to_have_text(re.compile(r"^test image \d+, class \d$"))
        expect(tip.locator("img")).to_be_visible()
        assert tip.locator("img").evaluate("image => image.naturalWidth") >= 28
        expect(tips.nth(1 - trace)).to_be_hidden()
        _shoot(page, f"compare-hover-{side}")
        page.mouse.move(5, 5)
        expect(tip).to_be_hidden()
    _no_exceptions(page)


def test_the_drawn_digit_is_drawn_above_the_other_points(page):
    _open(page, "Draw")
    canvas = page.locator("canvas.upper-canvas").first
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 140, box["y"] + 40)
    page.mouse.down()
    for i in range(20):  # a 1: where the ones crowd the map
        page.mouse.move(box["x"] + 140, box["y"] + 40 + 10 * i)
    page.mouse.up()
    settle(page)
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    x, y = chart.locator(".js-plotly-plot").evaluate("""plot => {
        const trace = plot.data[plot.data.length - 1], layout = plot._fullLayout, box = plot.getBoundingClientRect();
        return [box.left + layout.xaxis._offset + layout.xaxis.l2p(trace.x[0]),
                box.top + layout.yaxis._offset + layout.yaxis.l2p(trace.y[0])];
    }""")
    centre = Image.open(io.BytesIO(page.screenshot(clip={"x": x - 1, "y": y - 1, "width": 3, "height": 3})))
    red, green, blue = centre.convert("RGB").getpixel((1, 1))
    assert red > 180 and 50 < green < 140 and blue < 60, (red, green, blue)  # the marker's orange, on top
    _shoot(page, "draw-marker")


def test_the_four_corner_grid_leaves_the_pad_and_its_labels_clear(browser, server):
    for width, height in ((1600, 1000), (1280, 720), (1024, 768)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = _visit(context, server + "/interpolate")
        grid = page.get_by_test_id("stImage").filter(has_text="bilinear blend of the four codes").locator("img")
        grid.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        grid_box = grid.bounding_box()
        for other in (page.get_by_text("Drag inside the square").first, page.get_by_test_id("drag-pad").nth(1),
                      page.get_by_test_id("stSlider").filter(has_text="left → right")):
            box = other.bounding_box()
            apart = (grid_box["x"] + grid_box["width"] <= box["x"] or box["x"] + box["width"] <= grid_box["x"]
                     or grid_box["y"] + grid_box["height"] <= box["y"] or box["y"] + box["height"] <= grid_box["y"])
            assert apart, (width, grid_box, box)
        _shoot(page, f"interpolate-corners-{width}x{height}")
        context.close()


def test_present_toggle_and_a_shared_link_that_opens_the_same_view_in_a_new_browser(browser, server):
    first, second = (browser.new_context(viewport={"width": 1280, "height": 720}) for _ in range(2))
    try:
        page = _visit(first, server + "/interpolate")
        steps = page.get_by_test_id("stSlider").filter(has_text="Steps").get_by_role("slider")
        steps.focus()
        for _ in range(2):
            steps.press("ArrowRight")
        settle(page)
        expect(steps).to_have_value("12")
        expect(page).to_have_url(re.compile(r"/interpolate\?(.*&)?steps=12"))  # the URL follows the page
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("Present", exact=True).click()
        settle(page)
        expect(sidebar).to_have_attribute("data-collapsed", "true")
        expect(page).to_have_url(re.compile(r"present=1"))
        page.get_by_test_id("stExpandSidebarButton").click()
        sidebar.get_by_role("button", name="Share").click()
        settle(page)
        dialog = page.get_by_test_id("stDialog")
        expect(dialog.get_by_test_id("stImage").locator("img")).to_be_visible()  # the QR code
        _shoot(page, "share-dialog")
        link = dialog.locator("code").inner_text().strip()
        assert link.startswith(server + "/interpolate?") and "steps=12" in link and "present" not in link
        other = _visit(second, link)
        expect(other.get_by_test_id("stSlider").filter(has_text="Steps").get_by_role("slider")).to_have_value("12")
        expect(other.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "false")  # the plain view
        _no_exceptions(other)
    finally:
        first.close()
        second.close()
