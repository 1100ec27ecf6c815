"""Choosing one test image: by class and which one of it, or by its number (which the Explore map sets)."""

from __future__ import annotations

import numpy as np

from aecore.code_sample import CodeSample
from aecore.latent import class_name
from aecore.ui import cache
from aecore.ui.cache import RunRef
from aecore.ui.widgets import image_strip


def choose_test_image(column, ref: RunRef, sample: CodeSample, title: str, default_class: int, key: str,
                      ) -> np.ndarray:
    """A class and which image of it in ``sample`` (of ``ref``'s test codes), or any test image's number,
    drawn in ``column`` with the image chosen; returns the image's code (L,). Widget keys:
    ``{key}_class``, ``{key}_nth`` and ``{key}_index`` (set it to choose an image from another page)."""
    classes, names = sample.classes, ref.run().class_names
    label = column.selectbox(title, classes, index=classes.index(default_class) if default_class in classes else 0,
                             format_func=lambda c: class_name(names, c), key=f"{key}_class")
    nth = column.number_input("which one", 0, 999, 0, key=f"{key}_nth")
    index = column.number_input("or test image #", 0, len(ref.dataset().test) - 1, value=None, key=f"{key}_index",
                                placeholder="a number, or pick one on Explore")
    if index is None:
        index = int(sample.indices[sample.row_of_class(label, nth)])
    column.image(image_strip(cache.test_pixels(ref, [index]), scale=4), width=112, caption=f"test #{index}")
    return cache.test_codes(ref, [index])[0]
