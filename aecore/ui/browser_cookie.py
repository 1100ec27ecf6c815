"""The browser's key set with the page itself: an ASGI middleware for serve.py (standard library only).

A key written by the page's script (``aecore.ui.identity``) arrives only once the first script run has been
drawn: a tab closed, or a run interrupted, before that left the browser without it, and its next visit was a
stranger (found by the browser test of a tab closed right after Start). This middleware sets the cookie on the
page's own HTML response when the browser has none, so the first websocket already carries it.
"""

from __future__ import annotations

import secrets

COOKIE = "aelab_key"
COOKIE_DAYS = 365


def cookie_header(key: str) -> bytes:
    """The Set-Cookie value that keeps ``key`` in the browser for a year, for this site's pages only."""
    return f"{COOKIE}={key}; Max-Age={COOKIE_DAYS * 86400}; Path=/; SameSite=Strict".encode()


def _cookies(scope) -> str:
    return b"; ".join(value for name, value in scope.get("headers", ()) if name == b"cookie").decode("latin-1")


def _wants_a_page(scope) -> bool:
    """A browser loading a page (not an asset, a health check or the websocket)."""
    accept = b"".join(value for name, value in scope.get("headers", ()) if name == b"accept")
    return scope["type"] == "http" and scope.get("method") == "GET" and b"text/html" in accept


class BrowserKeyCookie:
    """Give a browser that loads a page without a key cookie a new key (128 random bits) with that page."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if not _wants_a_page(scope) or f"{COOKIE}=" in _cookies(scope):
            await self.app(scope, receive, send)
            return
        header = cookie_header(secrets.token_urlsafe(16))

        async def send_with_the_cookie(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", header)]}
            await send(message)

        await self.app(scope, receive, send_with_the_cookie)
