"""What the AppTest tests share: app.py opened on a page, as a link opened in a new browser session would."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180  # seconds a script run may take on a loaded 2-core machine


def open_app(path: str, params: dict | None = None) -> AppTest:
    """A new session of app.py on page ``path`` with query parameters ``params``, after its first run."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(params or {})
    at.switch_page(path)
    return at.run()
