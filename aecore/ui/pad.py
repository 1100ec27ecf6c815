"""A drag pad (Streamlit Components v2: inline HTML/JS, no build step) reporting a position in [0, 1]².

While the handle is dragged it sends the position about seven times a second,
so a fragment can decode and show the image under it live. A pad never grows
past its column (it narrows instead), and its handle stays inside a margin of
its own, clear of the neighbouring columns and of the labels above and below. Pages pair it with
sliders: the pad's callback writes into the sliders' session keys, so the
sliders stay the single source of truth (and what tests drive), and the page's
link (:mod:`aecore.ui.links`) follows them.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from aecore.ui import palette, state_widgets
from aecore.ui.links import sync_url
from aecore.ui.state_values import Value

_JS = """
export default function ({ data, parentElement, setStateValue, setTriggerValue }) {
  const pad = parentElement.querySelector('.pad');
  const dot = parentElement.querySelector('.dot');
  const { width, height, uv } = data;
  pad.style.width = width + 'px';
  pad.style.aspectRatio = width + ' / ' + height;  // narrowed by its column, it keeps its shape
  const place = (u, v) => { dot.style.left = (u * 100) + '%'; dot.style.top = (v * 100) + '%'; };
  place(uv[0], uv[1]);
  let dragging = false, last = 0;
  const position = (e) => {
    const r = pad.getBoundingClientRect();  // its drawn size: narrower than asked in a narrow column
    return [Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1),
            Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1)];
  };
  const down = (e) => { dragging = true; pad.setPointerCapture(e.pointerId); const [u, v] = position(e); place(u, v); };
  const move = (e) => {
    if (!dragging) return;
    const [u, v] = position(e); place(u, v);
    const now = performance.now();
    if (now - last > 140) { last = now; setStateValue('uv', [u, v]); }
  };
  const up = (e) => {
    if (!dragging) return;
    dragging = false;
    const [u, v] = position(e); place(u, v); setStateValue('uv', [u, v]); setTriggerValue('release', [u, v]);
  };
  pad.addEventListener('pointerdown', down);
  pad.addEventListener('pointermove', move);
  pad.addEventListener('pointerup', up);
  pad.addEventListener('pointercancel', up);
  return () => {
    pad.removeEventListener('pointerdown', down);
    pad.removeEventListener('pointermove', move);
    pad.removeEventListener('pointerup', up);
    pad.removeEventListener('pointercancel', up);
  };
}
"""
_CSS = f"""
.pad {{ position: relative; box-sizing: border-box; max-width: calc(100% - 28px); margin: 14px;
       background: linear-gradient(90deg, {palette.PAD_LEFT}, {palette.PAD_RIGHT});
       border: 2px solid {palette.DEEP_BLUE}; border-radius: 8px; touch-action: none; cursor: grab; }}
.dot {{ position: absolute; box-sizing: border-box; width: 28px; height: 28px; margin: -14px; border-radius: 50%;
       background: {palette.VERMILION}; border: 3px solid {palette.WHITE}; box-shadow: 0 0 4px rgba(0,0,0,.5); }}
"""
_HTML = "<div class='pad' data-testid='drag-pad'><div class='dot'></div></div>"
_pad = st.components.v2.component("aecore_drag_pad", html=_HTML, css=_CSS, js=_JS)


def drag_pad(key: str, uv: tuple[float, float], *, width: int, height: int,
             on_drag: Callable[[tuple[float, float]], None], on_release: Callable[[], None] | None = None) -> None:
    """Draw a pad of ``width`` x ``height`` pixels (narrower in a narrower column) with its handle at ``uv``; call
    ``on_drag((u, v))`` (before the rerun it triggers) whenever the handle moves, and ``on_release()`` once it is
    let go."""

    def position_of(name: str) -> tuple[float, float] | None:
        value = st.session_state.get(key)
        position = value.get(name) if hasattr(value, "get") else getattr(value, name, None)
        return None if position is None else (float(position[0]), float(position[1]))

    def changed() -> None:
        if (position := position_of("uv")) is not None:
            on_drag(position)

    def released() -> None:
        if (position := position_of("release")) is not None:
            on_drag(position)
        if on_release is not None:
            on_release()

    _pad(key=key, data={"width": width, "height": height, "uv": list(uv)}, default={"uv": None},
         on_uv_change=changed, on_release_change=released)


def pad_sliders(key: str, sliders: list[Value], *, width: int, height: int, instruction: str) -> tuple[float, ...]:
    """An ``instruction`` (markdown), a drag pad, and the sliders in [0, 1] it moves (the page's values, on a grid
    of 0.01): the first follows the handle's x, the second (if any) its y (a single slider's pad keeps its
    handle mid-height). The sliders stay the source of truth (tests drive them); returns their values."""
    for slider in sliders:
        state_widgets.prepare(slider, hi=slider.hi)  # set by the pad's callback too: the slider takes no value=

    def follow(uv: tuple[float, float]) -> None:
        for slider, value in zip(sliders, uv[:len(sliders)], strict=True):
            st.session_state[slider.key] = round(value, 2)

    st.markdown(instruction)
    uv = tuple(st.session_state[slider.key] for slider in sliders) + (0.5,) * (2 - len(sliders))
    # Pads live in fragments, whose reruns skip app.py: the page's link follows from here, once the handle is let go
    # (a new URL redraws the page, which would drop the handle mid-drag) or a slider is moved.
    drag_pad(key, uv, width=width, height=height, on_drag=follow, on_release=sync_url)
    return tuple(state_widgets.draw(st, slider, on_change=sync_url) for slider in sliders)
