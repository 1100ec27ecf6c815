"""The strip of a code's nearest training images, as the Explore and Draw pages show it."""

from __future__ import annotations

import numpy as np
import streamlit as st

from aecore.ui import cache
from aecore.ui.cache import RunRef
from aecore.ui.widgets import image_strip, show_picture

SHOWN_DISTANCES = 4  # distances written in the caption, nearest first


def neighbour_strip(ref: RunRef, query: np.ndarray, k: int, *, scale: int = 2, columns: int | None = None,
                    caption: str | None = None) -> None:
    """The ``k`` training images whose codes lie nearest to ``query`` (1, L), nearest first; without a
    ``caption``, the caption gives their first latent distances."""
    found, distances = cache.training_bank(ref).nearest(query, k)
    if caption is None:
        caption = ("nearest first; latent distances " + ", ".join(f"{d:.2f}" for d in distances[0][:SHOWN_DISTANCES])
                   + " …")
    show_picture(st, image_strip(cache.train_pixels(ref, found[0]), scale=scale, columns=columns), width="stretch",
                 caption=caption)
