"""serve.py's websocket guard: a browser gone mid-read ends its websocket quietly; other errors still surface."""

import asyncio

import pytest
from starlette.websockets import WebSocketDisconnected

from aecore.ui.websocket_guard import EndLeftWebsockets


def _app_raising(error: Exception):
    async def app(scope, receive, send):
        raise error

    return app


def _call(app, scope_type: str) -> None:
    asyncio.run(EndLeftWebsockets(app)({"type": scope_type}, None, None))


def test_a_websocket_whose_browser_left_ends_without_an_error():
    _call(_app_raising(WebSocketDisconnected('WebSocket is not connected. Need to call "accept" first.')),
          "websocket")


def test_other_errors_of_a_websocket_and_every_error_of_a_page_still_surface():
    with pytest.raises(ValueError):
        _call(_app_raising(ValueError("a bug")), "websocket")
    with pytest.raises(WebSocketDisconnected):  # an http request is not a websocket: nothing is hidden there
        _call(_app_raising(WebSocketDisconnected("odd")), "http")


def test_a_websocket_that_ends_normally_passes_through():
    calls = []

    async def app(scope, receive, send):
        calls.append(scope["type"])

    _call(app, "websocket")
    assert calls == ["websocket"]
