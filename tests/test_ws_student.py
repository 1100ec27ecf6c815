"""bench/ws_student.py against a real server: a headless student (no browser) opens pages as Chromium does."""

import asyncio

from streamlit_server import served_app

from bench.ws_student import Student


async def _visit(url: str) -> None:
    student = Student()
    try:
        await student.open(url, "/")
        assert student.closed is None and student.runs_finished >= 1
        assert "Autoencoder Lab" in student.texts()
        assert student.exceptions == 0, student.exceptions_shown()
        await student.goto("train")
        assert "Start new run" in student.texts()
        assert student.exceptions == 0, student.exceptions_shown()
        assert student.cookies.keys() >= {"aelab_key", "_streamlit_xsrf"}
    finally:
        await student.close()


def test_a_headless_student_opens_home_then_train(tmp_path):
    with served_app(tmp_path / "server.log", {}) as url:
        asyncio.run(_visit(url))
    assert "Traceback" not in (tmp_path / "server.log").read_text()
