"""What every log line of a request carries: its id, its route, who called, and how many
SQL statements it ran so far.

One `RequestContext` per request, in a context variable: set by the edge of the app when
the request arrives, filled in as the request goes (the router's match, the caller's
token, each statement), and read by the log formatters and the access line. It is
deliberately not reset when the app returns: the server logs an unhandled error's
traceback after that, and the line must still carry the request's id. The next request
on the same task replaces it.
"""

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

# An id a client sends is kept when it is short and plain (what proxies and tracing
# systems send: uuids, hex, base64); anything else is replaced, never echoed into logs.
_SANE_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


@dataclass(slots=True)
class RequestContext:
    request_id: str
    route: str | None = None
    user_id: int | None = None
    statements: int = 0


_current: ContextVar[RequestContext | None] = ContextVar("agora_request", default=None)


def begin_request(client_id: str | None) -> RequestContext:
    """A request's context, under the client's ``X-Request-ID`` when it is a sane one, or
    under a new id."""
    if client_id is None or _SANE_ID.fullmatch(client_id) is None:
        client_id = secrets.token_hex(16)
    context = RequestContext(client_id)
    _current.set(context)
    return context


def current_request() -> RequestContext | None:
    """The context of the request this code runs for, or None outside one."""
    return _current.get()


def count_statement(*_args: Any) -> None:
    """A listener of the dialect's ``do_execute`` events: one more statement for the
    current request (returning None, it lets the dialect run the statement)."""
    context = _current.get()
    if context is not None:
        context.statements += 1
