"""The transaction boundary of an HTTP request.

Every route of the API runs through `TransactionalRoute`: the endpoint, its dependencies
and the serialization of its response happen inside one unit of work, which is
**committed before the response is sent** and rolled back on any error. (A commit in the
exit code of a yield-dependency would run after the client already got its 201: a client
reading right after could miss the write, and a failed commit would go unreported.)

Safe methods (GET, HEAD, OPTIONS) get a read-only session, which skips BEGIN/COMMIT
where the database allows it and may be served by a read replica.

A unit of work the database rolls back on its own (deadlock, serialization failure, a
dead pooled connection) is run again from the start, request body included; see
`agora.db.session.Database.run_in_transaction`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.routing import APIRoute

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from enum import Enum

    from fastapi import Request, Response
    from sqlalchemy.ext.asyncio import AsyncSession

    from agora.db.session import Database

API_PREFIX = "/api/v1"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Where the request's session lives: in the ASGI scope of this one request. (Not in
# ``request.state``: that wraps ``scope["state"]``, which servers seed from the lifespan
# state and which is shared between requests unless the server copies it.)
SESSION_SCOPE_KEY = "agora.session"


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_in_transaction(request: Request) -> Response:
            database: Database = request.app.state.database

            async def attempt(session: AsyncSession) -> Response:
                request.scope[SESSION_SCOPE_KEY] = session
                return await handle(request)

            read_only = request.method in READ_ONLY_METHODS
            return await database.run_in_transaction(attempt, read_only=read_only)

        return handle_in_transaction


def api_router(prefix: str = "", *, tags: list[str | Enum]) -> APIRouter:
    """A feature's router: its paths under `API_PREFIX` + `prefix`, every route a
    `TransactionalRoute`.

    The full path is set here so that the app can take the routes as its own (see
    `agora.main`) instead of including the router: FastAPI 0.165 puts an included
    router behind a route of its own that matches the request path once to choose the
    router and again to choose the route (measured: ~9% of a small request's CPU).
    One consequence: ``app.dependency_overrides`` does not reach these routes; tests
    give the app its `Database` instead (``create_app(settings, database=...)``).
    """
    return APIRouter(prefix=API_PREFIX + prefix, tags=tags, route_class=TransactionalRoute)
