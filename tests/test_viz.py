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
