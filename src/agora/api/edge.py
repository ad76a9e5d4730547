"""The edge of the app: the Host a request names, and headers every response carries,
whatever answered it (an endpoint, an error handler, a middleware refusing a body). One
middleware for both: each layer of ASGI middleware is work on every request.

A request naming a host not served here (`agora.api.hosts.AllowedHosts`) is 400
``invalid_host``.

``X-Content-Type-Options: nosniff`` everywhere: a browser never guesses a type other than
the one declared. ``Cache-Control: no-store`` on every answer of the token endpoint, as
OAuth 2 requires of responses that carry tokens (RFC 6749, 5.1): no cache in between
keeps one.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.api.errors import error_response
from agora.api.hosts import AllowedHosts

_ALWAYS = ((b"x-content-type-options", b"nosniff"),)
_NO_STORE = (*_ALWAYS, (b"cache-control", b"no-store"))


class Edge:
    def __init__(
        self, app: ASGIApp, *, hosts: AllowedHosts, no_store_paths: frozenset[str]
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.no_store_paths = no_store_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = _NO_STORE if scope["path"] in self.no_store_paths else _ALWAYS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Appended, not set: no answer of this app sends either header itself.
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        if self.hosts.refuses(scope):
            refusal = error_response(400, "This host is not served here.", "invalid_host")
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
