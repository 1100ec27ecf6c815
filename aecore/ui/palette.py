"""Every colour the dashboard draws with, in one place: charts, maps, the drag pad, the hover image, the tour bar.

Classes and curves use Paul Tol's "muted" scheme (colour-blind safe) plus black for a tenth class; the marker that
stars a spot on a map is Okabe and Ito's vermilion, which stands out against all of them.
"""

from __future__ import annotations

# Paul Tol's "muted" colours, by name
INDIGO, CYAN, TEAL, GREEN, OLIVE = "#332288", "#88CCEE", "#44AA99", "#117733", "#999933"
SAND, ROSE, WINE, PURPLE = "#DDCC77", "#CC6677", "#882255", "#AA4499"
VERMILION = "#D55E00"  # Okabe and Ito's: the marker on a map, the drag pad's handle
BLACK, WHITE = "#000000", "#FFFFFF"
INK = "#111111"  # body text on a pale background
NEAR_BLACK = "#222222"  # outlines of test points, text of the hover image
DARK_GREY, MID_GREY, GREY, LIGHT_GREY = "#555555", "#888888", "#999999", "#BBBBBB"
DEEP_BLUE, PALE_BLUE = "#1F4E9C", "#EEF3FB"  # the tour bar and the drag pad's frame
PAD_LEFT, PAD_RIGHT = "#DDE6F5", "#F5E6DD"  # the drag pad's gradient, start image side to end image side

CLASS_COLORS = (INDIGO, CYAN, TEAL, GREEN, OLIVE, SAND, ROSE, WINE, PURPLE, BLACK)  # class i: CLASS_COLORS[i % 10]
LOSS_PART_COLORS = {"total": INDIGO, "reconstruction": GREEN, "kl": ROSE, "sparsity": PURPLE}  # the loss curves
LAYER_PART_COLORS = {"enc": INDIGO, "code": ROSE, "dec": GREEN}  # Slow motion's gradient bars, by part of the net
METHOD_COLORS = (GREEN, TEAL, GREY, INDIGO)  # the Probes page's bars, one per way of training a classifier


def class_color(label: int) -> str:
    """The colour of class ``label`` on every map and legend."""
    return CLASS_COLORS[int(label) % len(CLASS_COLORS)]
