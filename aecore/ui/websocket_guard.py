"""A websocket whose browser left ends quietly: an ASGI middleware for serve.py.

When a tab closes while Streamlit 1.67 reads from its websocket, Starlette can raise
``WebSocketDisconnected`` (not ``WebSocketDisconnect``) out of ``receive_bytes``; Streamlit's endpoint then
tries to close the socket, which raises it again, and uvicorn logs "Exception in ASGI application" with two
stack traces (seen under the classroom load bench, as tabs closed). The connection is simply over: nothing
is lost, and the log of a normal class has no traceback.
"""

from __future__ import annotations

import logging

from starlette.websockets import WebSocketDisconnected

log = logging.getLogger(__name__)


class EndLeftWebsockets:
    """Let a websocket whose browser has gone end without an error; everything else passes through unchanged."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except WebSocketDisconnected:
            log.debug("a websocket ended as its browser left")
