"""Request bodies larger than the configured limit are refused with 413, never read whole.

(FastAPI's own `max_body_size` answers in plain text, outside the application's error
handlers; this keeps every error in the ``{"detail", "code"}`` shape.) GET and HEAD pass
untouched: no endpoint of theirs reads a body, so a body sent with one is never read.
"""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.api.errors import error_response

TOO_LARGE = "The request body is too large."
_BODILESS_METHODS = frozenset({"GET", "HEAD"})


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODILESS_METHODS:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(413, TOO_LARGE, "payload_too_large")(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised while the endpoint reads its body: the error handlers answer.
                    raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, receive_within_limit, send)
