"""Presenter view: the dashboard on a projector.

``?present=1`` in the URL, or the sidebar's toggle, collapses the sidebar, hides
the toolbar, makes the type 1.3 times larger and trims the space above the title,
so that each page's main picture fits a 1280x720 screen without scrolling. Plotly
figures (:mod:`aecore.ui.charts`) read :func:`type_scale` and :func:`chart_height`.
Everything is local CSS: nothing is fetched.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

PRESENT_KEY = "present_mode"  # session key: presenting or not; ?present=1 sets it when a session starts
# The toggle's own key: a widget's value can be dropped by Streamlit on a page switch made from a script (a lesson
# tour's Next left the presenter view so); PRESENT_KEY, a plain key, is not.
TOGGLE_KEY = "present_toggle"
TYPE_SCALE = 1.3  # the issue asks for type at least 1.3x larger
PRESENT_CHART_HEIGHT = 400  # px: a chart under a title and a row of controls still ends above 720 px

# Streamlit sizes its text and widgets in rem, so one root font size scales them all; only the page title, already
# large, keeps its size (2.15 of the larger rem is its usual 2.75 of the base one) and room. The side margins are
# narrow (Streamlit's 5rem took 117 px a side at 1024 px); the left one clears the button that opens the sidebar,
# which a lesson tour's bar sits beside. The toolbar's actions and menu go; the toolbar itself stays, transparent:
# it holds the button that opens the collapsed sidebar.
_CSS = """
<style>
html {{ font-size: {root_px:.1f}px !important; }}
[data-testid="stToolbarActions"], [data-testid="stMainMenu"], [data-testid="stAppDeployButton"] {{
    display: none !important; }}
[data-testid="stHeader"] {{ background: transparent !important; height: 2.2rem !important; }}
[data-testid="stMainBlockContainer"] {{ padding: 1.2rem 1.5rem 2rem 3rem !important; max-width: none !important; }}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] {{ gap: 0.45rem !important; }}
[data-testid="stMainBlockContainer"] h1 {{ font-size: 2.15rem !important; padding: 0 0 0.2rem 0 !important; }}
[data-testid="stMainBlockContainer"] h2, [data-testid="stMainBlockContainer"] h3 {{ padding: 0.2rem 0 !important; }}
</style>
"""


# Streamlit's wide layout leaves 6rem above the title and 5rem each side: on a 1366x768 laptop, 200 px of the first
# screen. The header (3.75rem) overlays the page, so the title starts just under it.
_LAPTOP_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding: 3.5rem 2.5rem 3rem 2.5rem !important; }
</style>
"""
# Both views: the sidebar's menu, 14 links in three sections, in tighter rows (36 px a link at a base of 18 px, and
# 86 px above the first), so that the training settings under it start higher.
_MENU_CSS = """
<style>
[data-testid="stSidebarHeader"] { height: 2.6rem !important; margin-bottom: 0 !important; }
[data-testid="stSidebarNavLink"] { height: 1.5rem !important; min-height: 0 !important; margin: 1px 0 !important; }
[data-testid="stNavSectionHeader"] { margin: 0.3rem 0 0.1rem 0 !important; }
[data-testid="stSidebarUserContent"] { padding-top: 0.5rem !important; }
</style>
"""


def base_font_px() -> float:
    """The theme's base font size in pixels (``[theme] baseFontSize``, Streamlit's 16 when unset)."""
    return float(st.get_option("theme.baseFontSize") or 16)


def presenting() -> bool:
    """Whether this session shows the presenter view (never outside a Streamlit run, e.g. building a figure in a
    test)."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return False
    return bool(st.session_state.get(PRESENT_KEY, False))


def sidebar_state() -> str:
    """What ``st.set_page_config(initial_sidebar_state=...)`` gets: collapsed while presenting."""
    return "collapsed" if presenting() else "auto"


def type_scale() -> float:
    """How much larger text is drawn: :data:`TYPE_SCALE` while presenting, else 1."""
    return TYPE_SCALE if presenting() else 1.0


def chart_height(height: int, presented: int = PRESENT_CHART_HEIGHT) -> int:
    """A Plotly figure's height in pixels: ``height``, or at most ``presented`` while presenting (a page whose chart
    sits higher on the screen may give it more than :data:`PRESENT_CHART_HEIGHT`)."""
    return min(height, presented) if presenting() else height


def apply_style() -> None:
    """Inject the page's CSS once per run, before the page draws: the presenter view's, or else the laptop view's
    narrower margins."""
    st.html((_CSS.format(root_px=base_font_px() * TYPE_SCALE) if presenting() else _LAPTOP_CSS) + _MENU_CSS)


def _toggled() -> None:
    st.session_state[PRESENT_KEY] = st.session_state[TOGGLE_KEY]


def present_toggle() -> None:
    """The sidebar's switch into and out of presenter view."""
    if st.session_state.get(TOGGLE_KEY) != presenting():
        st.session_state[TOGGLE_KEY] = presenting()
    st.toggle("Present", key=TOGGLE_KEY, on_change=_toggled,
              help="Presenter view: no sidebar or toolbar, larger type, each page's main picture on one 1280x720 "
                   "screen (also `?present=1` in the link)")
