"""The dashboard's pages, in menu order and grouped in the menu's sections: the one list of them. app.py builds
st.navigation from it, Home lists them, links and tours find each page's state here, and tests smoke-test each;
other modules name a page by its constant (``navigation.COMPARE``), never by its path."""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from aecore.ui import page_state

# The browser tab's icon, from disk (nothing fetched), as a data URL: Streamlit passes one on as it is, where it
# reads, checks and re-encodes an icon file at every run of every session
ICON = "data:image/png;base64," + base64.b64encode(Path(__file__).with_name("icon.png").read_bytes()).decode()


@dataclass(frozen=True)
class PageSpec:
    """A page: its script (relative to the project root), menu title and icon, what Home says it is for, and the
    state its link carries (:mod:`aecore.ui.page_state`)."""

    path: str
    title: str
    icon: str
    summary: str = ""  # Home's line about the page
    state: tuple = ()
    default: bool = False
    draws_figures: bool = True  # Plotly figures: the page waits for the server's first imports (aecore.ui.warm_up)
    training_settings: bool = False  # the sidebar's training settings act on this page (and travel in its link)
    section: str = ""  # its group in the menu (:data:`SECTIONS`)


# The menu's sections, in order: 14 links in three groups, each of which folds away in the sidebar
TRAIN_SECTION, LOOK_SECTION, CLASS_SECTION = "Build and train", "Look inside a model", "Class and labs"
SECTIONS = (TRAIN_SECTION, LOOK_SECTION, CLASS_SECTION)

HOME = PageSpec("views/home.py", "Home", ":material/home:", state=page_state.HOME, default=True,
                draws_figures=False, section=TRAIN_SECTION)
TRAIN = PageSpec("views/train.py", "Train", ":material/model_training:",
                 "pick a preset and the sliders in the sidebar (latent size, noise factor, sparsity beta), press "
                 "Start, and watch the loss, the reconstructions and the latent map change as it learns.",
                 training_settings=True, section=TRAIN_SECTION)
SLOW_MOTION = PageSpec("views/slow_motion.py", "Slow motion", ":material/slow_motion_video:",
                       "one training step per click, with each layer's gradient, and a way back through them.",
                       page_state.SLOW_MOTION, training_settings=True, section=TRAIN_SECTION)
OWN_IMAGES = PageSpec("views/own_images.py", "Your images", ":material/photo_library:",
                      "train on a folder of your own images (happy/ and angry/ faces, say).", page_state.OWN_IMAGES,
                      section=TRAIN_SECTION)
EXPLORE = PageSpec("views/explore.py", "Explore", ":material/scatter_plot:",
                   "the latent map (2-D codes, PCA, t-SNE or UMAP); click anywhere to decode that spot, see the "
                   "decoded grid under the map, nearest neighbours, selections; download the map as CSV.",
                   page_state.EXPLORE, section=LOOK_SECTION)
INTERPOLATE = PageSpec("views/interpolate.py", "Interpolate", ":material/linear_scale:",
                       "walk between two digits, drag a handle to blend them or four corners, and generate new "
                       "images.", page_state.INTERPOLATE, section=LOOK_SECTION)
DRAW = PageSpec("views/draw.py", "Draw", ":material/draw:",
                "draw a digit and see what the model makes of it and where it lands.", page_state.DRAW,
                section=LOOK_SECTION)
COMPARE = PageSpec("views/compare.py", "Compare", ":material/compare:",
                   "two runs' maps side by side (AE vs VAE, latent 2 vs 32).", page_state.COMPARE,
                   section=LOOK_SECTION)
BOARD = PageSpec("views/board.py", "Class board", ":material/groups:",
                 "every run trained on this server right now, under anonymous names.", section=CLASS_SECTION)
SWEEP = PageSpec("views/sweep.py", "Sweep", ":material/grid_view:",
                 "a grid of runs over one or two settings, compared as they train.", page_state.SWEEP,
                 section=CLASS_SECTION)
INSIDE = PageSpec("views/inside.py", "Inside", ":material/neurology:",
                  "weights as images, activations and sparsity, VAE diagnostics, every layer's shape.",
                  page_state.INSIDE, section=LOOK_SECTION)
DENOISE = PageSpec("views/denoise.py", "Denoising lab", ":material/auto_fix_high:",
                   "noisy → denoised → clean, measured in PSNR, and train noise against test noise.",
                   page_state.DENOISE, section=LOOK_SECTION)
PROBES = PageSpec("views/probes.py", "Probes", ":material/psychology:",
                  "how well a linear classifier reads the labels from the code; pre-training with few labels.",
                  page_state.PROBES, section=LOOK_SECTION)
LABS = PageSpec("views/labs.py", "Lecture labs", ":material/school:",
                "each lecture's exercise, one click each, with what to notice.", page_state.LABS,
                section=CLASS_SECTION)

PAGES = (HOME, TRAIN, SLOW_MOTION, OWN_IMAGES, EXPLORE, INTERPOLATE, DRAW, COMPARE, INSIDE, DENOISE, PROBES, BOARD,
         SWEEP, LABS)
BY_PATH = {spec.path: spec for spec in PAGES}
TRAINING_PAGES = tuple(spec.path for spec in PAGES if spec.training_settings)


_built: dict[PageSpec, st.Page] = {}


def streamlit_pages() -> dict[PageSpec, st.Page]:
    """Each page as the ``st.Page`` st.navigation takes, by its spec. Copies of pages built once per process:
    building one looks its script up on disk, a third of app.py's own time in a class following the teacher."""
    if len(_built) < len(PAGES):
        _built.update({spec: st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec.default)
                       for spec in PAGES})
    return {spec: copy.copy(_built[spec]) for spec in PAGES}  # st.navigation marks the page it runs


def by_section() -> dict[str, list[PageSpec]]:
    """The pages grouped by their menu section, sections and pages in menu order (what st.navigation takes)."""
    return {section: [spec for spec in PAGES if spec.section == section] for section in SECTIONS}


def page_of(path: str) -> PageSpec | None:
    """The page whose script is ``path`` (None for a path that is no page of the dashboard)."""
    return BY_PATH.get(path)
