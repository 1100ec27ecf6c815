"""Small drawn images of three classes, for the tests of image folders (in memory, streamed, mapped)."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("circles", "squares", "stripes")


def draw_shape(kind: str, rng: np.random.Generator, side: int = 20) -> Image.Image:
    """A ``side`` x ``side`` RGB image of one of CLASSES on a dark random background."""
    image = Image.fromarray(rng.integers(0, 60, (side, side, 3), dtype=np.uint8))
    pen = ImageDraw.Draw(image)
    low, high = sorted(rng.integers(2, side - 2, 2))
    colour = tuple(int(c) for c in rng.integers(120, 256, 3))
    if kind == "circles":
        pen.ellipse((low, low, high + 2, high + 2), fill=colour)
    elif kind == "squares":
        pen.rectangle((low, 3, high + 2, side - 3), fill=colour)
    else:
        for y in range(int(low) % 4, side, 4):
            pen.line((0, y, side, y), fill=colour)
    return image


def drawn_folder(root: Path, per_class: int, seed: int = 0) -> Path:
    """``root`` made a folder of one sub-folder per class of CLASSES, ``per_class`` drawn PNGs in each."""
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        (root / kind).mkdir(parents=True)
        for i in range(per_class):
            draw_shape(kind, rng).save(root / kind / f"{i:04d}.png")
    return root
