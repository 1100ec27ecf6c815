"""A drag pad (Streamlit Components v2: inline HTML/JS, no build step) reporting a position in [0, 1]².

While the handle is dragged it sends the position about seven times a second,
so a fragment can decode and show the image under it live. Pages pair it with
sliders: the pad's callback writes into the sliders' session keys, so the
sliders stay the single source of truth (and what tests drive).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

_JS = """
export default function ({ data, parentElement, setStateValue }) {
  const pad = parentElement.querySelector('.pad');
  const dot = parentElement.querySelector('.dot');
  const { width, height, uv } = data;
  pad.style.width = width + 'px';
  pad.style.height = height + 'px';
  const place = (u, v) => { dot.style.left = (u * width) + 'px'; dot.style.top = (v * height) + 'px'; };
  place(uv[0], uv[1]);
  let dragging = false, last = 0;
  const position = (e) => {
    const r = pad.getBoundingClientRect();
    return [Math.min(Math.max((e.clientX - r.left) / width, 0), 1),
            Math.min(Math.max((e.clientY - r.top) / height, 0), 1)];
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
    const [u, v] = position(e); place(u, v); setStateValue('uv', [u, v]);
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
_CSS = """
.pad { position: relative; background: linear-gradient(90deg, #dde6f5, #f5e6dd); border: 2px solid #1F4E9C;
       border-radius: 8px; touch-action: none; cursor: grab; }
.dot { position: absolute; width: 28px; height: 28px; margin: -14px; border-radius: 50%; background: #D55E00;
       border: 3px solid #ffffff; box-shadow: 0 0 4px rgba(0,0,0,.5); }
"""
_HTML = "<div class='pad' data-testid='drag-pad'><div class='dot'></div></div>"
_pad = st.components.v2.component("aecore_drag_pad", html=_HTML, css=_CSS, js=_JS)


def drag_pad(key: str, uv: tuple[float, float], *, width: int, height: int,
             on_drag: Callable[[tuple[float, float]], None]) -> None:
    """Draw a pad of ``width`` x ``height`` pixels with its handle at ``uv``; call ``on_drag((u, v))``
    (before the rerun it triggers) whenever the handle moves."""

    def changed() -> None:
        value = st.session_state.get(key)
        position = value.get("uv") if hasattr(value, "get") else getattr(value, "uv", None)
        if position is not None:
            on_drag((float(position[0]), float(position[1])))

    _pad(key=key, data={"width": width, "height": height, "uv": list(uv)}, default={"uv": None},
         on_uv_change=changed)


def pad_sliders(key: str, sliders: list[tuple[str, str]], *, width: int, height: int, instruction: str,
                ) -> tuple[float, ...]:
    """An ``instruction`` (markdown), a drag pad, and the sliders in [0, 1] it moves, given as (label, session
    key): the first follows the handle's x, the second (if any) its y (a single slider's pad keeps its
    handle mid-height). The sliders stay the source of truth (tests drive them); returns their values."""
    for _, slider_key in sliders:
        st.session_state.setdefault(slider_key, 0.5)  # set by the pad's callback too: no value= below

    def follow(uv: tuple[float, float]) -> None:
        for (_, slider_key), value in zip(sliders, uv[:len(sliders)], strict=True):
            st.session_state[slider_key] = round(value, 2)

    st.markdown(instruction)
    uv = tuple(st.session_state[slider_key] for _, slider_key in sliders) + (0.5,) * (2 - len(sliders))
    drag_pad(key, uv, width=width, height=height, on_drag=follow)
    return tuple(st.slider(label, 0.0, 1.0, step=0.01, key=slider_key) for label, slider_key in sliders)
