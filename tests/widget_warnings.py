"""A fixture for AppTest runs: no widget is created with a default value whose key a link, a tour or another page
also set through session state (Streamlit logs a warning with a stack trace for it, once per process)."""

import pytest
from streamlit.elements.lib import policies


@pytest.fixture(autouse=True)
def no_widget_default_overridden(monkeypatch):
    """Fails the test if Streamlit warned that a widget was "created with a default value but also had its value
    set via the Session State API" while it ran."""
    warned = []
    warning = policies._LOGGER.warning

    def spy(message, *args, **kwargs):
        if "created with a default value" in str(message):
            warned.append(args)
        return warning(message, *args, **kwargs)

    monkeypatch.setattr(policies, "_shown_default_value_warning", False)  # it warns once per process: reset it
    monkeypatch.setattr(policies._LOGGER, "warning", spy)
    yield
    assert warned == []
