"""Each route's cap on its request body: 413 `payload_too_large` before it is parsed.

A route declares a larger cap with FastAPI's own keyword, ``@router.post(...,
max_body_size=...)``; every other route that takes a body gets `DEFAULT_MAX_BODY_BYTES`,
which fits every small JSON document of the API. `TransactionalRoute` answers the cap
itself (FastAPI's answers in plain text, outside the application's error handlers), so
that the 413 has the API's ``{"detail", "code"}`` shape: a declared ``Content-Length``
over the cap is refused before a byte is read, and a body sent without one is counted
as it arrives and refused as soon as it passes the cap.
"""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.api.errors import error_response

DEFAULT_MAX_BODY_BYTES = 64 * 1024
TOO_LARGE = "The request body is too large."


class BodyCap:
    """Wraps one route's ASGI app."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(413, TOO_LARGE, "payload_too_large")(scope, receive, send)
            return
        received = 0

        async def receive_within_cap() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised while the endpoint reads its body: the error handlers answer.
                    raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, receive_within_cap, send)
