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
