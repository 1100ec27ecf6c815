"""Choosing one test image: by class and which one of it, or by its number (which the Explore map sets)."""

from __future__ import annotations

import numpy as np

from aecore.code_sample import CodeSample
from aecore.latent import class_name
from aecore.ui import cache, state_widgets
from aecore.ui.cache import RunRef
from aecore.ui.page_state import ImageChoice
from aecore.ui.widgets import image_strip, show_picture


def choose_test_image(column, ref: RunRef, sample: CodeSample, choice: ImageChoice) -> np.ndarray:
    """A class and which image of it in ``sample`` (of ``ref``'s test codes), or any test image's number,
    drawn in ``column`` with the image chosen (the page's ``choice``; another page may set its image number);
    returns the image's code (L,)."""
    classes, names = sample.classes, ref.run().class_names
    label = state_widgets.draw(column, choice.label, options=classes,
                               default=choice.label.default if choice.label.default in classes else classes[0],
                               format_func=lambda c: class_name(names, c))
    nth = state_widgets.draw(column, choice.nth)
    index = state_widgets.draw(column, choice.index, hi=len(ref.dataset().test) - 1,
                               placeholder="a number, or pick one on Explore")
    if index is None:  # the sample holds its code: no forward pass for each of a page's images
        row = sample.row_of_class(label, nth)
        index, code = int(sample.indices[row]), sample.codes[row]
    else:
        code = cache.test_codes(ref, [index])[0]
    show_picture(column, image_strip(cache.test_pixels(ref, [index]), scale=4), width=112, caption=f"test #{index}")
    return code
