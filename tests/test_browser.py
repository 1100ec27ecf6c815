"""The real thing: `streamlit run` on 127.0.0.1, driven by Debian's headless Chromium through Playwright.

Opens every page, moves a sidebar slider and checks it persists across pages, clicks and hovers the maps,
draws a digit, drags a pad, asserting that no exception element shows anywhere. Opens every page in the presenter
view (``?present=1``) at 1280x720 and 1024x768 and in the plain view at 1366x768 and checks each page's main picture
starts on the first screen, and so does the view of every step of every shipped lesson tour (opened by its link),
with Lecture 001's first steps also under the tour's bar; hovers points of Compare's two maps for their images.
Training in the browser is in tests/test_browser_training.py (a server of its own, so that the two files run side by
side). With
AECORE_TEST_SCREENSHOTS=1, screenshots go to tests/screenshots/ (git-ignored) for people to look at. The browser,
the server and a fresh tab per test come from tests/conftest.py.
"""

import io
import json
import re
import time
from pathlib import Path
from urllib.parse import urlencode

from PIL import Image
from streamlit_server import (
    choose,
    hover_until_shown,
    no_exceptions,
    open_page,
    plots_drawn,
    require_chromium,
    settle,
    shoot,
    steady,
    visit,
)

from aecore.ui.navigation import PAGES

ROOT = Path(__file__).resolve().parent.parent
require_chromium()

import pytest  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402


def test_sidebar_values_persist_across_pages(page):
    open_page(page, "Train")
    slider = page.get_by_test_id("stSlider").filter(has_text="Latent size").get_by_role("slider")
    expect(slider).to_have_value("32")
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    settle(page)
    expect(slider).to_have_value("35")
    expect(page.get_by_text(re.compile(r"latent 35 ·")).first).to_be_visible()
    open_page(page, "Home")
    open_page(page, "Train")
    expect(page.get_by_text(re.compile(r"latent 35 ·")).first).to_be_visible()
    no_exceptions(page)


DECODED = re.compile(r"decoded at \(-?\d+\.\d\d, -?\d+\.\d\d\)")


def _click_until_decoded(page: Page, x: float, y: float, tries: int = 3) -> None:
    """Click (``x``, ``y``) on a map until the page shows the spot decoded: a click that lands while plotly.js draws
    the chart again is lost, so click again (never twice once one was taken)."""
    decoded = page.get_by_text(DECODED)
    for attempt in range(tries):
        page.mouse.click(x, y)
        settle(page)
        try:
            expect(decoded).to_be_visible(timeout=15_000)
            return
        except AssertionError:
            if attempt == tries - 1:
                raise


def test_clicking_empty_space_on_the_latent_map_decodes_it(page):
    open_page(page, "Explore")
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    plots_drawn(page)
    plot_area = page.locator(".nsewdrag").first.bounding_box()
    _click_until_decoded(page, plot_area["x"] + 0.3 * plot_area["width"], plot_area["y"] + 0.2 * plot_area["height"])
    expect(page.get_by_text("nearest first", exact=False)).to_be_visible()
    no_exceptions(page)
    shoot(page, "explore-click")


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
        page = visit(context, f"{server}/explore?images=all&cap=70000")
        page.wait_for_function("""() => [...document.querySelectorAll('.st-key-explore_map .js-plotly-plot')].some(
            (plot) => (plot._fullData || []).reduce((n, trace) => n + (trace.name === 'images' ? trace.x.length : 0),
                                                     0) === 70000)""", timeout=120_000)
        plot = page.locator(".st-key-explore_map .js-plotly-plot")
        expect(plot).to_be_visible(timeout=60_000)
        where = plot.evaluate(INNER_POINT_AND_EMPTY_SPOT)
        assert where["drawn"] == 70_000 and where["clearance"] >= 18, where  # a spot clear of every point
        tip = page.get_by_test_id("hover-image")
        hover_until_shown(page, *where["point"], tip)
        expect(tip.locator(".caption")).to_have_text(re.compile(r"^(test|training) image \d+, class \d$"))
        page.mouse.move(5, 5)
        _click_until_decoded(page, *where["spot"])
        no_exceptions(page)
    finally:
        context.close()


def test_drawing_a_digit_shows_its_reconstruction(page):
    open_page(page, "Draw")
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
    no_exceptions(page)
    shoot(page, "draw")


def test_dragging_the_pad_decodes_live(page):
    open_page(page, "Interpolate")
    pad = page.get_by_test_id("drag-pad").first
    pad.scroll_into_view_if_needed()
    steady(pad)
    caption = page.get_by_text(re.compile(r"^mix \d\.\d\d$"))
    expect(caption).to_have_text("mix 0.50")
    box = pad.bounding_box()
    middle = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, middle)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, middle, steps=5)
    expect(caption).not_to_have_text("mix 0.50", timeout=15_000)  # the image follows while the handle is held
    page.mouse.move(box["x"] + box["width"] * 0.95, middle, steps=5)  # and the drag goes on after that rerun
    page.mouse.up()
    expect(caption).to_have_text(re.compile(r"mix 0\.9\d"), timeout=15_000)
    no_exceptions(page)
    shoot(page, "interpolate-drag")


def _fits(page: Page, locator, width: int, height: int) -> None:
    """``locator`` starts on the first screen of the page (nothing scrolled) and lies within its width: whole, or,
    for a picture taller than half the screen, with at least half a screen of it in sight."""
    expect(locator).to_be_visible()
    box = steady(locator)
    scrolled = page.evaluate("document.querySelector('[data-testid=stMain]')?.scrollTop ?? 0")
    assert scrolled == 0
    assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width + 1, (box, width, height)
    in_sight = min(box["y"] + box["height"], height) - box["y"]
    assert in_sight >= min(box["height"], height / 2) - 1, (box, width, height)


def _main(page: Page):
    return page.get_by_test_id("stMainBlockContainer")


def _url_path(spec) -> str:
    return "" if spec.default else Path(spec.path).stem  # st.Page's: the script's name, none for the default page


MAIN_PICTURES = {  # url path: the page's main picture (as a page shows it before anyone trains or uploads)
    "": lambda page: _main(page).get_by_test_id("stImage").last,  # the last reconstruction of the strip
    "train": lambda page: _main(page).get_by_text("the loss curves, the reconstructions"),  # where they appear
    "slow_motion": lambda page: _main(page).get_by_test_id("stImage").first,  # test images and reconstructions
    "own_images": lambda page: _main(page).get_by_test_id("stFileUploaderDropzone"),
    "explore": lambda page: _main(page).get_by_test_id("stPlotlyChart").first,
    "interpolate": lambda page: _main(page).get_by_test_id("stImage").filter(
        has_text="decoded along the path").locator("img"),
    "draw": lambda page: page.locator("canvas.upper-canvas").first,
    "compare": lambda page: _main(page).get_by_test_id("stPlotlyChart").last,
    "board": lambda page: _main(page).get_by_test_id("stAlert").or_(_main(page).get_by_test_id("stDataFrame")).first,
    "sweep": lambda page: _main(page).get_by_text("the results appear here"),
    "inside": lambda page: _main(page).locator(  # the shown tab's: the first layer's weights, or the layers' table
        "[data-testid=stImage]:visible, [data-testid=stDataFrame]:visible").first,
    "denoise": lambda page: _main(page).get_by_test_id("stImage").first,  # noisy, denoised, clean
    "probes": lambda page: _main(page).get_by_test_id("stMetric").first,  # the linear probe's accuracy
    "labs": lambda page: _main(page).get_by_role("button", name="Run this lab").first,  # the first lab's
}
LAB_PICTURE = "[data-testid=stImage], [data-testid=stPlotlyChart], [data-testid=stDataFrame]"  # a lab that ran


def _open(page: Page, server: str, spec, present: bool) -> None:
    """Open ``spec``'s page: from the sidebar's menu in one session, as a student does; in the presenter view by its
    link, as a projector opens it (its sidebar is folded away)."""
    if present:
        page.goto(f"{server}/{_url_path(spec)}?present=1")
        settle(page)
    elif not spec.default:
        open_page(page, spec.title)


SCREENS = {True: ((1280, 720), (1024, 768)), False: ((1366, 768),)}  # a projector's two, a student's laptop


@pytest.mark.parametrize("present", (True, False), ids=("presenter-1280x720-1024x768", "plain-1366x768"))
def test_every_page_opens_without_an_exception_and_fits_its_main_picture_on_the_first_screen(browser, server,
                                                                                             present):
    """Each page loaded once per view; the presenter view is checked at both projector sizes (a resize)."""
    assert set(MAIN_PICTURES) == {_url_path(spec) for spec in PAGES}  # every page, no exemption
    width, height = SCREENS[present][0]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(90_000)
    elsewhere = []  # requests to any other host: nothing may be fetched from the network (fonts, icons, ...)
    page.on("request", lambda request: request.url.startswith((server, "data:", f"blob:{server}"))
            or elsewhere.append(request.url))
    misses = []
    try:
        page.goto(server + ("/?present=1" if present else "/"))
        settle(page)
        for spec in PAGES:
            _open(page, server, spec, present)
            title = page.locator("h1").first
            expect(title).to_be_visible()  # the page's own: its h1 is the first
            expect(title).to_contain_text(spec.title if not spec.default else "Autoencoder Lab")
            if present:
                expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
                expect(page.get_by_test_id("stMainMenu")).to_be_hidden()
                expect(page.get_by_test_id("stExpandSidebarButton")).to_be_visible()  # the way back to the toggle
                size = "element => parseFloat(getComputedStyle(element).fontSize)"
                assert page.locator("html").evaluate(size) >= round(1.3 * 18, 1)  # the rem every text is sized in
                assert page.locator("h1").first.evaluate(size) >= 2.75 * 18  # the title keeps its usual size
                assert "present=1" in page.url
            for width, height in SCREENS[present]:
                page.set_viewport_size({"width": width, "height": height})
                plots_drawn(page)
                shoot(page, f"screen-{_url_path(spec) or 'home'}-{width}x{height}{'-present' if present else ''}",
                      full_page=False)
                try:
                    _fits(page, MAIN_PICTURES[_url_path(spec)](page), width, height)
                except AssertionError as miss:  # every page is looked at: the failure names each that misses
                    misses.append(f"{spec.title} at {width}x{height}: {miss}")
            no_exceptions(page)
        assert misses == [], "\n".join(misses)
        assert elsewhere == []
    finally:
        context.close()


TOUR = json.loads((ROOT / "aecore" / "tours" / "lecture-001.json").read_text())  # home, explore, denoise, compare, ...


def test_a_lesson_tour_in_the_presenter_view_keeps_each_main_picture_on_one_screen(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = visit(context, server + "/?present=1")
        page.get_by_test_id("stExpandSidebarButton").click()
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar).to_have_attribute("data-collapsed", "false")
        sidebar.get_by_text("Lesson tours").click()
        picker = sidebar.get_by_test_id("stSelectbox").filter(has_text="Tour")
        expect(picker).to_be_visible()
        choose(page, picker, TOUR["title"])  # its click waits for the expander's animation to end
        settle(page)
        sidebar.get_by_role("button", name="Start", exact=True).click()
        settle(page)
        page.get_by_test_id("stSidebarCollapseButton").click()
        bar = page.locator(".st-key-tour_bar").first
        for number, step in enumerate(TOUR["steps"][:3], start=1):  # each step's view at each size: the test below
            if number > 1:
                page.locator(".st-key-tour_next button").first.click()  # under the header: the click goes through
                settle(page)
            expect(bar).to_contain_text(f"step {number} of {len(TOUR['steps'])}")
            expect(bar.locator(".tour-caption")).to_have_text(step["caption"])
            plots_drawn(page)
            steady(bar)  # the sidebar folds away at the first step: the main column widens
            shoot(page, f"tour-lecture-001-step-{number}")
            assert bar.bounding_box()["height"] <= 80  # one row: the controls beside a caption of two lines at most
            assert bar.locator(".tour-caption").evaluate("caption => caption.scrollHeight <= caption.clientHeight + 1")
            url_path = page.url.removeprefix(server).split("?")[0].strip("/")
            _fits(page, MAIN_PICTURES[url_path](page), 1280, 720)
            assert "present=1" in page.url  # Next keeps the presenter view, and says so in the link
            expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
            no_exceptions(page)
    finally:
        context.close()


def test_hovering_a_point_on_either_compare_map_shows_its_image(page):
    open_page(page, "Compare")
    plot = page.get_by_test_id("stPlotlyChart").last.locator(".js-plotly-plot")
    plot.scroll_into_view_if_needed()
    plots_drawn(page)
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
        tip = tips.nth(trace)  # one per map, in the order of the maps
        hover_until_shown(page, x, y, tip)
        expect(tip.locator(".caption")).to_have_text(re.compile(r"^test image \d+, class \d$"))
        expect(tip.locator("img")).to_be_visible()
        assert tip.locator("img").evaluate("image => image.naturalWidth") >= 28
        expect(tips.nth(1 - trace)).to_be_hidden()
        shoot(page, f"compare-hover-{side}")
        page.mouse.move(5, 5)
        expect(tip).to_be_hidden()
    no_exceptions(page)


LAST_TRACES_FIRST_POINT = """plot => {  // in page coordinates
    const trace = plot.data[plot.data.length - 1], layout = plot._fullLayout, box = plot.getBoundingClientRect();
    return [box.left + layout.xaxis._offset + layout.xaxis.l2p(trace.x[0]),
            box.top + layout.yaxis._offset + layout.yaxis.l2p(trace.y[0])];
}"""


def test_the_drawn_digit_is_drawn_above_the_other_points(page):
    open_page(page, "Draw")
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
    plots_drawn(page)
    deadline = time.monotonic() + 15
    while True:  # WebGL points are drawn on a canvas in a later frame: look until the marker shows or time is up
        x, y = chart.locator(".js-plotly-plot").evaluate(LAST_TRACES_FIRST_POINT)
        centre = Image.open(io.BytesIO(page.screenshot(clip={"x": x - 1, "y": y - 1, "width": 3, "height": 3})))
        red, green, blue = centre.convert("RGB").getpixel((1, 1))
        if (red > 180 and 50 < green < 140 and blue < 60) or time.monotonic() > deadline:
            break
    assert red > 180 and 50 < green < 140 and blue < 60, (red, green, blue)  # the marker's orange, on top
    shoot(page, "draw-marker")


IMAGES_LOADED = "() => [...document.querySelectorAll('[data-testid=stMain] img')].every((image) => image.complete)"


def test_the_four_corner_grid_leaves_the_pad_and_its_labels_clear(browser, server):
    for width, height in ((1600, 1000), (1280, 720), (1024, 768)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = visit(context, server + "/interpolate")
        grid = page.get_by_test_id("stImage").filter(has_text="bilinear blend of the four codes").locator("img")
        grid.scroll_into_view_if_needed()
        page.wait_for_function(IMAGES_LOADED)
        steady(grid)
        grid_box = grid.bounding_box()
        for other in (page.get_by_text("Drag inside the square").first, page.get_by_test_id("drag-pad").nth(1),
                      page.get_by_test_id("stSlider").filter(has_text="left → right")):
            box = other.bounding_box()
            apart = (grid_box["x"] + grid_box["width"] <= box["x"] or box["x"] + box["width"] <= grid_box["x"]
                     or grid_box["y"] + grid_box["height"] <= box["y"] or box["y"] + box["height"] <= grid_box["y"])
            assert apart, (width, grid_box, box)
        shoot(page, f"interpolate-corners-{width}x{height}")
        context.close()


def test_present_toggle_and_a_shared_link_that_opens_the_same_view_in_a_new_browser(browser, server):
    first, second = (browser.new_context(viewport={"width": 1280, "height": 720}) for _ in range(2))
    try:
        page = visit(first, server + "/interpolate")
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
        shoot(page, "share-dialog")
        link = dialog.locator("code").inner_text().strip()
        assert link.startswith(server + "/interpolate?") and "steps=12" in link and "present" not in link
        other = visit(second, link)
        expect(other.get_by_test_id("stSlider").filter(has_text="Steps").get_by_role("slider")).to_have_value("12")
        expect(other.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "false")  # the plain view
        no_exceptions(other)
    finally:
        first.close()
        second.close()



TOUR_VIEWS = {}  # (page, params) of every step of every shipped tour: each view once, where the first tour shows it
for _tour in sorted((ROOT / "aecore" / "tours").glob("lecture-*.json")):
    for _number, _step in enumerate(json.loads(_tour.read_text())["steps"], start=1):
        TOUR_VIEWS.setdefault((_step["page"], tuple(sorted(_step["params"].items()))), f"{_tour.stem} step {_number}")


def _step_picture(page: Page, url_path: str):
    """A tour step's main picture: its page's, or on Lecture labs the picture of the lab the step ran (shown first)."""
    return _main(page).locator(LAB_PICTURE).first if url_path == "labs" else MAIN_PICTURES[url_path](page)


@pytest.mark.parametrize("present", (True, False), ids=("presenter-1280x720-1024x768", "plain-1366x768"))
def test_every_tour_step_fits_its_main_picture_on_the_first_screen(browser, server, present):
    """Each step's view opened by its link, as the step opens it: the presenter view checked at both projector
    sizes on one load (its layout follows the width alone), the plain view at a laptop's."""
    sizes = ((1280, 720), (1024, 768)) if present else ((1366, 768),)
    context = browser.new_context(viewport=dict(zip(("width", "height"), sizes[0], strict=True)))
    page = context.new_page()
    page.set_default_timeout(90_000)
    misses = []
    try:
        for (path, params), name in TOUR_VIEWS.items():
            url_path = _url_path(next(spec for spec in PAGES if spec.path == path))
            page.set_viewport_size(dict(zip(("width", "height"), sizes[0], strict=True)))
            page.goto(f"{server}/{url_path}?{urlencode({**dict(params), **({'present': '1'} if present else {})})}")
            settle(page)
            plots_drawn(page)
            for width, height in sizes:
                page.set_viewport_size({"width": width, "height": height})
                shoot(page, f"tour-{name.replace(' ', '-')}-{width}x{height}", full_page=False)
                try:
                    _fits(page, _step_picture(page, url_path), width, height)
                except AssertionError as miss:  # every step is looked at: the failure names each that misses
                    misses.append(f"{name} ({url_path or 'home'}) at {width}x{height}: {miss}")
            no_exceptions(page)
        assert misses == [], "\n".join(misses)
    finally:
        context.close()
