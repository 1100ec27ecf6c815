import numpy as np

from aecore.viz import code_cells


def test_code_cells_colour_each_number_by_its_sign_on_one_shared_scale():
    codes = np.array([[2.0, -1.0, 0.0], [-2.0, 1.0, 0.5]])
    cells = code_cells(codes, columns=3)
    assert cells.shape == (2, 3, 1, 3)  # (N, RGB, rows, columns)
    red, green, blue = cells[0, :, 0, 0]
    assert red == 1.0 and green == blue == 0.0  # the largest positive number: full red
    assert tuple(cells[1, :, 0, 0]) == (0.0, 0.0, 1.0)  # the largest negative one: full blue
    assert tuple(cells[0, :, 0, 2]) == (1.0, 1.0, 1.0)  # zero: white
    assert tuple(cells[0, :, 0, 1]) == tuple(cells[1, :, 0, 1][::-1])  # -1 and +1 mirror on the shared scale


def test_a_code_that_does_not_fill_its_last_row_is_padded_in_grey():
    cells = code_cells(np.linspace(-1, 1, 10)[None], columns=4)
    assert cells.shape == (1, 3, 3, 4)
    assert np.all(cells[0, :, 2, 2:] == 0.85)
    assert not np.any(cells[0, :, 2, :2] == 0.85)


def test_an_all_zero_code_is_white_not_a_division_by_zero():
    assert np.all(code_cells(np.zeros((1, 32))) == 1.0)


def test_a_strip_is_the_png_of_its_mosaic_made_once_for_the_same_pixels_and_layout():
    import io

    from PIL import Image

    from aecore.ui.widgets import image_rows, image_strip
    from aecore.viz import mosaic, stacked_rows, to_pil

    images = np.random.default_rng(0).random((6, 1, 5, 5), dtype=np.float32)
    strip = image_strip(images, scale=3, columns=4)
    expected = np.asarray(to_pil(mosaic(images, 4, padding=1, pad_value=1.0), scale=3))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(strip))), expected)  # lossless: a PNG
    assert image_strip(images.copy(), scale=3, columns=4) is strip  # the same pixels: made once
    assert image_strip(images, scale=2, columns=4) != strip and image_strip(images, scale=3, columns=3) != strip
    changed = images.copy()
    changed[5, 0, 4, 4] = 1 - changed[5, 0, 4, 4]
    assert image_strip(changed, scale=3, columns=4) != strip  # one pixel differs: another picture
    rows = image_rows(images[:3], images[3:], scale=2)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(rows))),
                          np.asarray(to_pil(stacked_rows(images[:3], images[3:]), scale=2)))


class _Column:
    """Stands in for a Streamlit container: keeps what its ``image`` was given."""

    def __init__(self) -> None:
        self.shown: list[tuple[bytes, dict]] = []

    def image(self, picture: bytes, **options) -> None:
        self.shown.append((picture, options))


def test_a_picture_wider_than_shown_is_shrunk_once_as_streamlit_would_and_streamlit_leaves_it_as_it_is():
    import io

    from PIL import Image
    from streamlit.elements.lib.image_utils import _ensure_image_size_and_format
    from streamlit.elements.lib.layout_utils import LayoutConfig

    from aecore.ui.widgets import WIDEST_PICTURE_PX, image_strip, show_picture

    images = np.random.default_rng(1).random((3, 1, 28, 28), dtype=np.float32)
    wide, narrow = image_strip(images, scale=4), image_strip(images[:1], scale=1)  # 349 and 30 px wide
    column = _Column()
    show_picture(column, wide, width=96, caption="three")
    show_picture(column, wide, width=96)
    show_picture(column, narrow, width=96)
    show_picture(column, image_strip(images, scale=20), width="stretch")
    (shrunk, options), (again, _), (kept, _), (stretched, _) = column.shown
    assert options == {"width": 96, "caption": "three", "output_format": "PNG"}  # never "auto": a JPEG
    assert again is shrunk and kept is narrow  # made once; a picture that fits is given as it is
    streamlits = _ensure_image_size_and_format(wide, LayoutConfig(width=96), "PNG")  # what st.image would make
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(shrunk))), np.asarray(Image.open(io.BytesIO(streamlits))))
    assert _ensure_image_size_and_format(shrunk, LayoutConfig(width=96), "PNG") is shrunk  # nothing left to do
    assert Image.open(io.BytesIO(stretched)).width == WIDEST_PICTURE_PX
    assert _ensure_image_size_and_format(stretched, LayoutConfig(width="stretch"), "PNG") is stretched
