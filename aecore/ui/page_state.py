"""Each page's state, declared once: every value a page keeps, with its query parameter, session key, type, range
or choices, default and label (as :mod:`aecore.settings` declares the run settings).

The pages draw their widgets from these declarations (:mod:`aecore.ui.state_widgets`), links write and read them
(:mod:`aecore.ui.links`), and a lesson tour's steps are checked against them (:mod:`aecore.ui.tour_bar`). A page's
state is a tuple of them, in the order a link restores them (a value keyed by another comes after it);
:data:`aecore.ui.navigation.PAGES` gives each page its tuple.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aecore.checkpoints import PRETRAINED_DIR
from aecore.config import NOISE_KINDS
from aecore.data import list_datasets
from aecore.latent_map import DEFAULT_GRID, DEFAULT_MAP_SIZE, MAP_SPLITS, PLANE_MODES
from aecore.layer_table import parse_shape
from aecore.presets import list_presets
from aecore.projection import METHODS
from aecore.slow_motion import RATES
from aecore.ui.composite_state import (
    DEFAULT_RUN,
    LABS_RUN,
    MODEL,
    OWN_FOLDER,
    SWEEP_AXIS_LINKS,
    pick_key,
    pick_links,
)
from aecore.ui.state_values import Value

MAP_MODES = (*PLANE_MODES, *METHODS)  # every map any page offers (each page offers those that fit its run)


def map_value(key: str, label: str = "Map", choices: tuple[str, ...] = MAP_MODES) -> Value:
    """The radio buttons choosing a page's kind of map (the page offers those that fit its run)."""
    return Value("map", key, str, label, "radio", default=choices[0], choices=choices)


# --- Explore

EXPLORE_MODE = map_value("explore_mode")
EXPLORE_SPLIT = Value("images", "explore_split", str, "Images", "radio", default="test", choices=tuple(MAP_SPLITS))
EXPLORE_CAP = Value("cap", "explore_cap", int, "On the map", "select_slider", default=DEFAULT_MAP_SIZE, lo=1,
                    keyed_by=EXPLORE_SPLIT)  # one per choice of images; the sizes offered depend on the run
EXPLORE_X = Value("x", "explore_dim_x", int, "x: dimension", "number", default=0, lo=0)  # hi: the run's latent size
EXPLORE_Y = Value("y", "explore_dim_y", int, "y: dimension", "number", default=1, lo=0)
EXPLORE_GRID = Value("grid", "explore_grid", int, "Decoded grid under the map (0: off)", "slider",
                     default=DEFAULT_GRID, lo=0, hi=30)
EXPLORE_PERPLEXITY = Value("perplexity", "explore_perplexity", int, "Perplexity", "slider", default=30, lo=5, hi=50)
EXPLORE_BY_SPLIT = Value("by_split", "explore_by_split", bool, "Colour by split", "toggle", default=False)
EXPLORE_NEIGHBOURS = Value("neighbours", "explore_k", int, "Nearest training images", "slider", default=8, lo=1,
                           hi=20)
EXPLORE_PRIOR_GRID = Value("prior_grid", "explore_quantile_grid", int, "Grid size", "slider", default=20, lo=5, hi=30)
EXPLORE = (MODEL, EXPLORE_MODE, EXPLORE_SPLIT, EXPLORE_CAP, EXPLORE_X, EXPLORE_Y, EXPLORE_GRID, EXPLORE_PERPLEXITY,
           EXPLORE_BY_SPLIT, EXPLORE_NEIGHBOURS, EXPLORE_PRIOR_GRID,
           *pick_links("explore", EXPLORE_MODE, EXPLORE_SPLIT, EXPLORE_CAP))


def explore_pick_key(mode: str, split: str, cap: int) -> str:
    """The session key of the pick on Explore's map of kind ``mode`` showing ``cap`` images of ``split``."""
    return pick_key("explore", mode, split, cap)


# --- Interpolate


@dataclass(frozen=True)
class ImageChoice:
    """The three widgets choosing one test image (:func:`aecore.ui.image_choice.choose_test_image`): its class,
    which image of that class, or a test image's number (which overrides the other two; Explore sets it)."""

    label: Value
    nth: Value
    index: Value

    @property
    def values(self) -> tuple[Value, Value, Value]:
        return self.label, self.nth, self.index


def image_choice(param: str, key: str, title: str, default_class: int) -> ImageChoice:
    """The image choice under session keys ``{key}_class``, ``{key}_nth`` and ``{key}_index``."""
    return ImageChoice(Value(param, f"{key}_class", int, title, "selectbox", default=default_class, lo=0),
                       Value(f"{param}_nth", f"{key}_nth", int, "which one", "number", default=0, lo=0, hi=999),
                       Value(f"{param}_image", f"{key}_index", int, "or test image #", "number", lo=0))


INTERPOLATE_FROM = image_choice("from", "interp_a", "From", 7)
INTERPOLATE_TO = image_choice("to", "interp_b", "To", 1)
INTERPOLATE_STEPS = Value("steps", "interp_steps", int, "Steps", "slider", default=10, lo=3, hi=20)
INTERPOLATE_SLERP = Value("slerp", "interp_slerp", bool, "Spherical (slerp), for a VAE's Gaussian prior",
                          "toggle")  # its default follows the run: on for a VAE
INTERPOLATE_MIX = Value("mix", "interp_alpha", float, "Mix (the same, as a slider)", "slider", default=0.5, lo=0.0,
                        hi=1.0, step=0.01)
CORNERS = tuple(image_choice(param, f"corner_{i}", title, default) for i, (param, title, default) in enumerate((
    ("top_left", "Top left", 0), ("top_right", "Top right", 1), ("bottom_left", "Bottom left", 7),
    ("bottom_right", "Bottom right", 9))))
CORNER_GRID = Value("grid", "corner_n", int, "Grid size", "slider", default=10, lo=3, hi=15)
CORNER_U = Value("u", "corner_u", float, "left → right", "slider", default=0.5, lo=0.0, hi=1.0, step=0.01)
CORNER_V = Value("v", "corner_v", float, "top → bottom", "slider", default=0.5, lo=0.0, hi=1.0, step=0.01)
GENERATE_COUNT = Value("images", "gen_count", int, "Images", "slider", default=16, lo=4, hi=32, step=4)
GENERATE_SEED = Value("gen_seed", "gen_seed", int, "Seed (change it for new images)", "number", default=0, lo=0,
                      hi=10_000)
GENERATE_NOISE = Value("gen_noise", "gen_noise", float, "Noise around the 'From' image's code", "slider",
                       default=0.5, lo=0.0, hi=3.0, step=0.1)
INTERPOLATE = (MODEL, *INTERPOLATE_FROM.values, *INTERPOLATE_TO.values, INTERPOLATE_STEPS, INTERPOLATE_SLERP,
               INTERPOLATE_MIX, *(value for corner in CORNERS for value in corner.values), CORNER_GRID, CORNER_U,
               CORNER_V, GENERATE_COUNT, GENERATE_SEED, GENERATE_NOISE)

# --- Draw, Compare, Inside, Denoising lab, Probes, Lecture labs

DRAW_MAP = map_value("draw_map", "Where it lands")
DRAW = (MODEL, DRAW_MAP)

COMPARE_MODE = map_value("compare_mode", "Maps")
COMPARE_CAP = Value("cap", "compare_cap", int, "Test images per map", "slider", default=1500, lo=500, hi=5000,
                    step=500)
COMPARE_RUNS = (Value("left", "compare_left", Path, "Run", "selectbox", default=DEFAULT_RUN),
                Value("right", "compare_right", Path, "Run", "selectbox",
                      default=PRETRAINED_DIR / "mnist-vae-latent2"))
COMPARE = (COMPARE_MODE, COMPARE_CAP, *COMPARE_RUNS)

INSIDE_TAB = Value("tab", "inside_tab", str, "Part", "tabs", default="Weights",
                   choices=("Weights", "Activations", "VAE", "Layer shapes"))
INSIDE_OTHER = Value("other", "inside_compare", Path, "Side by side with", "selectbox")  # default: a sparse run
INSIDE_FIRST = Value("first", "inside_first", int, "Inputs from sample image #", "number", default=0, lo=0, hi=992,
                     step=8)
LAYERS_SOURCE = Value("layers", "layers_source", str, "Model", "selectbox", default="this run",
                      choices=("this run", *(preset.name for preset in list_presets())))


def input_shape(text: str) -> str:
    """An input shape ``CxHxW`` the Inside page's layer table takes (a ValueError saying so otherwise)."""
    parse_shape(text)
    return text


LAYERS_SHAPE = Value("shape", "layers_shape", str, "Input C x H x W", "text", check=input_shape,
                     keyed_by=LAYERS_SOURCE)  # one per model; its default follows the model
INSIDE = (MODEL, INSIDE_TAB, INSIDE_OTHER, INSIDE_FIRST, LAYERS_SOURCE, LAYERS_SHAPE)

DENOISE_KIND = Value("test_noise", "denoise_kind", str, "Noise", "radio",  # default: the noise the run trained with
                     choices=tuple(kind for kind in NOISE_KINDS if kind != "none"))
DENOISE_LEVEL = Value("level", "denoise_level", float, "Noise level", "slider", default=0.5, lo=0.0, hi=1.0, step=0.05)
DENOISE = (MODEL, DENOISE_KIND, DENOISE_LEVEL)

PROBE_LABELS = Value("labels", "probe_k", int, "Labelled images per class", "select_slider", default=5,
                     choices=(1, 3, 5, 10, 20, 50))
PROBES = (MODEL, PROBE_LABELS)

LAB_QUERY = Value("query", "lab_query", int, "Neighbours of test image #", "number", default=0, lo=0)
LABS = (LABS_RUN, LAB_QUERY)

# --- Sweep, Your images, Slow motion

SWEEP_DATASET = Value("data", "sweep_dataset", str, "Dataset", "selectbox", default="mnist",
                      choices=lambda: tuple(info.name for info in list_datasets()))
SWEEP_PRESET = Value("base", "sweep_preset", str, "Preset", "selectbox", default="ae",
                     choices=tuple(preset.name for preset in list_presets() if not preset.needs_dataset))
SWEEP_EPOCHS = Value("run_epochs", "sweep_epochs", int, "Epochs per run", "number", default=3, lo=1, hi=200)
SWEEP_STOPPING = Value("stopping", "sweep_stopping", str, "Stop hopeless runs early", "radio", default="auto",
                       choices=("auto", "on", "off"),
                       help="Successive halving (Optuna): runs whose validation loss trails at an epoch stop there. "
                            "Auto: on from six runs.")
SWEEP = (SWEEP_DATASET, SWEEP_PRESET, SWEEP_EPOCHS, *SWEEP_AXIS_LINKS, SWEEP_STOPPING)

OWN_SIZE = Value("size", "own_size", int, "Image size", "select_slider", default=64,
                 choices=(32, 48, 64, 96, 128, 160, 192, 224))
OWN_COLOUR = Value("colour", "own_colour", str, "Colour", "radio", default="rgb", choices=("rgb", "grey"))
OWN_LATENT = Value("code", "own_latent", int, "Latent size", "select_slider", default=30,
                   choices=(8, 16, 20, 30, 50, 64))
OWN_TEST_SHARE = Value("test_share", "own_split", float, "Unseen test share", "slider", default=0.2, lo=0.1, hi=0.5,
                       step=0.05)
OWN_MODEL = Value("kind", "own_model", str, "Model", "radio", default="conv-ae", choices=("conv-ae", "conv-vae"))
OWN_EPOCHS = Value("train_epochs", "own_epochs", int, "Epochs", "number", default=50, lo=1, hi=5000)
OWN_MAP = Value("map", "own_map", str, "Map", "radio", default=next(iter(METHODS)), choices=tuple(METHODS))
OWN_IMAGES = (OWN_FOLDER, OWN_SIZE, OWN_COLOUR, OWN_LATENT, OWN_TEST_SHARE, OWN_MODEL, OWN_EPOCHS, OWN_MAP)

SLOW_MOTION_RATE = Value("rate", "slowmo_rate", float, "Steps/s", "select_slider", default=1.0, choices=RATES)
SLOW_MOTION = (SLOW_MOTION_RATE,)

HOME = (MODEL,)
