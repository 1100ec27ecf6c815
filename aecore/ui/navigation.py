"""The dashboard's pages, in menu order (app.py builds st.navigation from this; tests smoke-test each)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ICON = str(Path(__file__).with_name("icon.png"))  # the browser tab's icon, from disk: nothing fetched


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to the project root
    title: str
    icon: str
    default: bool = False
    draws_figures: bool = True  # Plotly figures: the page waits for the server's first imports (aecore.ui.boot)


PAGES = (
    PageSpec("views/home.py", "Home", ":material/home:", default=True, draws_figures=False),
    PageSpec("views/train.py", "Train", ":material/model_training:"),
    PageSpec("views/slow_motion.py", "Slow motion", ":material/slow_motion_video:"),
    PageSpec("views/own_images.py", "Your images", ":material/photo_library:"),
    PageSpec("views/explore.py", "Explore", ":material/scatter_plot:"),
    PageSpec("views/interpolate.py", "Interpolate", ":material/linear_scale:"),
    PageSpec("views/draw.py", "Draw", ":material/draw:"),
    PageSpec("views/compare.py", "Compare", ":material/compare:"),
    PageSpec("views/board.py", "Class board", ":material/groups:"),
    PageSpec("views/sweep.py", "Sweep", ":material/grid_view:"),
    PageSpec("views/inside.py", "Inside", ":material/neurology:"),
    PageSpec("views/denoise.py", "Denoising lab", ":material/auto_fix_high:"),
    PageSpec("views/probes.py", "Probes", ":material/psychology:"),
    PageSpec("views/labs.py", "Lecture labs", ":material/school:"),
)
