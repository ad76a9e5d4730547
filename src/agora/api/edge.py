"""The edge of the app: the Host a request names, and headers every response carries,
whatever answered it (an endpoint, an error handler, a middleware refusing a body). One
middleware for both: each layer of ASGI middleware is work on every request.

A request naming a host not served here (`agora.api.hosts.AllowedHosts`) is 400
``invalid_host``.

``X-Content-Type-Options: nosniff`` everywhere: a browser never guesses a type other than
the one declared. ``Cache-Control: no-store`` on every answer of the token endpoint, as
OAuth 2 requires of responses that carry tokens (RFC 6749, 5.1): no cache in between
keeps one.

And the request metrics (`agora.telemetry.metrics`): requests in flight, and once a
request is answered its count and duration under its route's template, its method and
status. A request that no route matched (a 404 for an unknown path, a refused host) is
not counted by route: a client choosing paths cannot add label values.

And the request's log context (`agora.telemetry.context`): its id, the client's
``X-Request-ID`` when it is a sane one or a new one, sent back in ``X-Request-ID`` on
every answer and carried by every log line of the request; and its access line
(`agora.telemetry.logs.log_access`), written for every request, a refused one included.
"""

import time
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.api.errors import error_response
from agora.api.hosts import AllowedHosts
from agora.telemetry.context import begin_request
from agora.telemetry.logs import log_access
from agora.telemetry.metrics import HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_REQUESTS

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

_ALWAYS = ((b"x-content-type-options", b"nosniff"),)
_NO_STORE = (*_ALWAYS, (b"cache-control", b"no-store"))
# Methods counted as themselves; any other a client sends is counted as "other".
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    """The request metrics, with each set of labels bound once (a `labels` lookup costs
    about as much as the count itself)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int], Counter] = {}
        self._durations: dict[tuple[str, str], Histogram] = {}

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "other"
        count = self._counts.get((route, method, status))
        if count is None:
            count = self._counts[route, method, status] = HTTP_REQUESTS.labels(
                route, method, str(status)
            )
        duration = self._durations.get((route, method))
        if duration is None:
            duration = self._durations[route, method] = HTTP_DURATION.labels(route, method)
        count.inc()
        duration.observe(seconds)


class Edge:
    def __init__(
        self, app: ASGIApp, *, hosts: AllowedHosts, no_store_paths: frozenset[str]
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.no_store_paths = no_store_paths
        self.metrics = RequestMetrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        context = begin_request(_client_request_id(scope))
        added = [
            *(_NO_STORE if scope["path"] in self.no_store_paths else _ALWAYS),
            (b"x-request-id", context.request_id.encode()),
        ]
        status = 500  # what the server answers if the app fails before it responds

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Appended, not set: no answer of this app sends these headers itself.
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        if self.hosts.refuses(scope):
            refusal = error_response(400, "This host is not served here.", "invalid_host")
            await refusal(scope, receive, send_with_headers)
            log_access(scope["method"], status, time.perf_counter() - started)
            return
        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            HTTP_IN_FLIGHT.dec()
            seconds = time.perf_counter() - started
            # The router leaves the route it matched in the scope.
            route = scope.get("route")
            if route is not None:
                context.route = route.path
                self.metrics.answered(route.path, scope["method"], status, seconds)
            log_access(scope["method"], status, seconds)


def _client_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return str(value.decode("latin-1"))
    return None
