"""Which browser this is: a key kept in a cookie, not the websocket, so that a reload finds the same runs.

A page asks :func:`my_job` for this browser's run and :func:`my_upload_folder` for its images.

A browser's first visit gets a new key (128 random bits) that the page stores
in a cookie (:data:`COOKIE`, a year, same site); Streamlit reads it back
(``st.context.cookies``) in every later session of that browser: a reload, a
tab closed and opened again, a laptop that slept. A student's personal link
(``?me=KEY``, :func:`personal_link`) carries the key to another device, which
keeps it from then on. The teacher's link (``?present=1&teacher=KEY``, printed
by the server at start) gives the teacher's key. Both parameters leave the
address bar at once, so no Share link, screenshot or projector shows a key.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import streamlit as st

from aecore.jobs import TrainingJob
from aecore.jobs.service import Owner, new_key, well_formed
from aecore.ui.browser_cookie import COOKIE, COOKIE_DAYS
from aecore.ui.presenter import presenting
from aecore.ui.shared_resources import job_service

ME_PARAM, TEACHER_PARAM = "me", "teacher"
_KEY = "_browser_key"  # session state: this session's key


def browser_key() -> str:
    """This browser's key: from a personal or teacher link, else the cookie, else a new one (see the module)."""
    state = st.session_state
    if _KEY in state:
        return state[_KEY]
    params = st.query_params
    linked = None
    teacher = params.get(TEACHER_PARAM)
    if teacher and secrets.compare_digest(teacher, job_service().teacher_key):
        linked = teacher
    elif well_formed(params.get(ME_PARAM)):
        linked = params.get(ME_PARAM)
    for name in (ME_PARAM, TEACHER_PARAM):
        if name in params:
            del params[name]
    cookie = st.context.cookies.get(COOKIE)
    key = linked or (cookie if well_formed(cookie) else None) or new_key()
    state[_KEY] = key
    return key


def my_owner() -> Owner:
    """The owner of this browser's runs and uploads."""
    return job_service().owner(browser_key())


def my_job() -> TrainingJob:
    """This browser's training job, whichever session, tab or device asks (see :mod:`aecore.jobs.service`)."""
    return job_service().job_for(my_owner())


def my_upload_folder() -> Path:
    """This browser's folder for uploaded images (kept with its run)."""
    return job_service().upload_folder(my_owner())


def keep_key_in_browser() -> None:
    """Write the browser's key into its cookie (an invisible element), in every run of a session that did not
    bring it: a run interrupted by a rerun can lose its elements before the browser runs them."""
    key = browser_key()
    if st.context.cookies.get(COOKIE) == key:
        return
    st.html(f"<script>document.cookie = '{COOKIE}={key}; max-age={COOKIE_DAYS * 86400}; path=/; "
            "samesite=strict';</script>", unsafe_allow_javascript=True, width="content")


def personal_link(base_url: str) -> str:
    """The link that opens this browser's runs on another device (it holds the key: for its owner only)."""
    return f"{base_url.rstrip('/')}/?{ME_PARAM}={browser_key()}"


def personal_link_popover() -> None:
    """In the sidebar, for a student and never in the presenter view: their personal link, to go on with their
    runs on another device (a teacher's would hand over the teacher's role)."""
    if presenting() or my_owner().is_teacher:
        return
    url = st.context.url or ""
    base = url.split("?", 1)[0].rsplit("/", 1)[0] if "://" in url else ""
    with st.sidebar.popover("My link", icon=":material/devices:", width="stretch",
                            help="Open your runs on another device (keep it to yourself: it is your key)"):
        st.caption("This browser keeps your runs even if you reload, close the tab or lose the Wi-Fi. To go on with "
                   "them on another device, open this link there (it is yours alone: do not share it).")
        st.code(personal_link(base or "http://localhost:8501"), language=None, wrap_lines=True)
