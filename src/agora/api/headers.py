"""Headers every response carries, whatever answered it (an endpoint, an error handler, a
middleware refusing a body).

``X-Content-Type-Options: nosniff`` everywhere: a browser never guesses a type other than
the one declared. ``Cache-Control: no-store`` on every answer of the token endpoint, as
OAuth 2 requires of responses that carry tokens (RFC 6749, 5.1): no cache in between
keeps one.
"""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, no_store_paths: frozenset[str]) -> None:
        self.app = app
        self.no_store_paths = no_store_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope["path"] in self.no_store_paths

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if no_store:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
