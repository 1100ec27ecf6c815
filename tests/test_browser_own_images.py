"""Your images in a real browser (`streamlit run` driven by Debian's headless Chromium through Playwright): a
folder on the server trained for one epoch, then its t-SNE map computed in the background, redrawn live, and
hovered once finished for a point's image.

The finished map is a new chart element (the live frames are drawn in a fragment, the finished map by the whole
page), so the hover image must follow the chart from element to element. Each run gets empty map and image
caches: a map found on disk would be drawn finished at once, never live.
"""

import re
from pathlib import Path

import pytest
from drawn_images import CLASSES, drawn_folder
from streamlit_server import hover_until_shown, require_chromium, served_app, settle, shoot, visit

from aecore import image_stream, projection_cache
from aecore.uploads import IMAGE_ROOTS_ENV

PER_CLASS = 40  # 120 images: enough for a t-SNE map, one epoch in seconds

require_chromium()

from playwright.sync_api import expect  # noqa: E402

# the finished t-SNE map, drawn by the page: one chart (a live one may stand beside it a moment), no Stop button
FINISHED_MAP = """() => {
    const titles = [...document.querySelectorAll('.st-key-own_map_chart .xtitle')].map((title) => title.textContent);
    return titles.length === 1 && titles[0] === 't-SNE 1' && !document.querySelector('.st-key-own_map_stop');
}"""
# a point of the map's data trace (curve 1) well inside the plot area, in page coordinates
INNER_POINT = """(plot) => {
    const data = plot._fullData[1], xaxis = plot._fullLayout.xaxis, yaxis = plot._fullLayout.yaxis,
        box = plot.getBoundingClientRect();
    for (let i = 0; i < data.x.length; i++) {
        const x = xaxis._offset + xaxis.l2p(data.x[i]), y = yaxis._offset + yaxis.l2p(data.y[i]);
        if (x > xaxis._offset + 30 && x < xaxis._offset + xaxis._length - 30 && y > yaxis._offset + 30
            && y < yaxis._offset + yaxis._length - 30) return [box.left + x, box.top + y];
    }
}"""


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    """A folder of three classes of PER_CLASS small drawn images each."""
    return drawn_folder(tmp_path_factory.mktemp("images") / "shapes", PER_CLASS)


@pytest.fixture(scope="module")
def server(tmp_path_factory, shapes):
    env = {IMAGE_ROOTS_ENV: str(shapes.parent), "AECORE_RUNS_DIR": str(tmp_path_factory.mktemp("runs")),
           projection_cache.CACHE_DIR_ENV: str(tmp_path_factory.mktemp("maps")),
           image_stream.CACHE_DIR_ENV: str(tmp_path_factory.mktemp("image-cache"))}
    with served_app(tmp_path_factory.mktemp("server") / "streamlit.log", env) as url:
        yield url


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    yield visit(context, server)
    context.close()


def test_hovering_a_point_of_the_finished_t_sne_map_of_a_trained_folder_shows_its_image(page, shapes):
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Your images").click()
    settle(page)
    page.get_by_role("tab", name="A folder on the server").click()
    path = page.get_by_label("Path of a folder with one sub-folder per class")
    path.fill(str(shapes))
    path.press("Enter")
    settle(page)
    page.get_by_role("button", name="Use this folder").click()
    settle(page)
    epochs = page.get_by_test_id("stMainBlockContainer").get_by_label("Epochs", exact=True)
    epochs.fill("1")
    epochs.press("Enter")
    settle(page)
    page.get_by_role("button", name="Train on these images").click()
    expect(page.get_by_text(re.compile("Finished 1 epoch "))).to_be_visible(timeout=90_000)
    map_radio = page.get_by_test_id("stMain").get_by_role("radiogroup").filter(has_text="t-SNE")
    expect(map_radio).to_be_visible(timeout=30_000)
    settle(page)
    map_radio.get_by_text("t-SNE", exact=True).click()
    page.wait_for_function(FINISHED_MAP, timeout=90_000)
    settle(page)
    plot = page.locator(".st-key-own_map_chart .js-plotly-plot")
    plot.scroll_into_view_if_needed()
    x, y = plot.evaluate(INNER_POINT)
    tip = page.get_by_test_id("hover-image")
    hover_until_shown(page, x, y, tip)  # the hover component finds a chart drawn anew within half a second
    expect(tip.locator(".caption")).to_have_text(re.compile(rf"^(test|train|val)\w*:({'|'.join(CLASSES)})/\d+\.png, "
                                                            rf"class ({'|'.join(CLASSES)})$"))
    expect(tip.locator("img")).to_be_visible()
    assert tip.locator("img").evaluate("image => image.complete && image.naturalWidth") >= 20
    shoot(page, "own-images-t-sne-hover", full_page=False)
    page.mouse.move(5, 5)
    expect(tip).to_be_hidden()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert not script_errors, f"the page's scripts failed: {script_errors}"
