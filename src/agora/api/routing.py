"""The transaction boundary of an HTTP request.

Every route of the API runs through `TransactionalRoute`: the endpoint, its dependencies
and the serialization of its response happen inside one unit of work, which is
**committed before the response is sent** and rolled back on any error. (A commit in the
exit code of a yield-dependency would run after the client already got its 201: a client
reading right after could miss the write, and a failed commit would go unreported.) The
endpoint and its dependencies reach the unit's session as an ordinary dependency,
`agora.api.dependencies.SessionDep`.

The body of a request is read before its unit of work opens, within the route's cap
(`agora.api.limits`): a client uploading slowly holds no connection.

Safe methods (GET, HEAD, OPTIONS) get a read-only session, which skips BEGIN/COMMIT
where the database allows it and may be served by a read replica.

A unit of work the database rolls back on its own (deadlock, serialization failure, a
dead pooled connection) is run again from the start, dependencies and request body
included; see `agora.db.session.Database.run_in_transaction`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.utils import create_model_field

from agora.api.limits import DEFAULT_MAX_BODY_BYTES, BodyCap
from agora.api.schemas import ErrorBody

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator
    from enum import Enum

    from fastapi import FastAPI, Request, Response
    from fastapi.dependencies.models import Dependant
    from sqlalchemy.ext.asyncio import AsyncSession

    from agora.db.session import Database

API_PREFIX = "/api/v1"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Where the request's session lives: in the ASGI scope of this one request. (Not in
# ``request.state``: that wraps ``scope["state"]``, which servers seed from the lifespan
# state and which is shared between requests unless the server copies it.)
_SESSION_SCOPE_KEY = "agora.session"


class TransactionalRoute(APIRoute):
    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        max_body_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        # FastAPI's own cap is not used: it answers in plain text (see agora.api.limits).
        super().__init__(path, endpoint, **kwargs)
        if self.reads_body:
            self.max_body_size = max_body_size or DEFAULT_MAX_BODY_BYTES
            self.app = BodyCap(self.app, self.max_body_size)
        self._document_errors()

    def _document_errors(self) -> None:
        """Add to the route's OpenAPI responses every error it can answer, each with the
        `ErrorBody` model: those of every request, those its parameters and body bring,
        and those its dependencies declare (`documents_errors`)."""
        errors = dict(EVERY_REQUEST_ERRORS)
        if _takes_input(self.dependant):
            errors[422] = "validation_error, or the input refers to something unusable"
        if self.reads_body:
            errors[413] = "payload_too_large: the body is over this route's cap"
        for dependant in _with_sub_dependants(self.dependant):
            errors.update(getattr(dependant.call, OPENAPI_ERRORS, {}))
        for error, description in errors.items():
            self.responses.setdefault(error, {}).setdefault("description", description)
        for status, response in self.responses.items():
            if int(status) >= 400 and status not in self.response_fields:
                response.setdefault("model", ErrorBody)
                self.response_fields[status] = create_model_field(
                    name=f"Response_{status}_{self.unique_id}",
                    type_=response["model"],
                    mode="serialization",
                )

    @property
    def reads_body(self) -> bool:
        """Whether requests of this route may carry a body (not GET, HEAD, OPTIONS)."""
        return not (self.methods or set()) <= READ_ONLY_METHODS

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        reads_body = self.reads_body

        async def handle_in_transaction(request: Request) -> Response:
            database: Database = request.app.state.database
            if reads_body:
                await request.body()  # kept by the request for the endpoint to parse

            async def attempt(session: AsyncSession) -> Response:
                request.scope[_SESSION_SCOPE_KEY] = session
                return await handle(request)

            read_only = request.method in READ_ONLY_METHODS
            return await database.run_in_transaction(attempt, read_only=read_only)

        return handle_in_transaction


# Answers any request can get: a Host that is not served, a body that is not JSON; the
# database or another bounded resource saturated or down (always with Retry-After).
EVERY_REQUEST_ERRORS = {
    400: "invalid_host, or bad_request: a body that cannot be parsed",
    503: "database_busy, database_unavailable, commit_outcome_unknown or service_busy",
}
OPENAPI_ERRORS = "openapi_errors"
T = TypeVar("T")


def documents_errors(errors: dict[int, str]) -> Callable[[T], T]:
    """Mark a dependency with the errors it may answer (status: codes), so that every
    route that depends on it documents them."""

    def mark(dependency: T) -> T:
        setattr(dependency, OPENAPI_ERRORS, errors)
        return dependency

    return mark


def _with_sub_dependants(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _with_sub_dependants(sub)


def _takes_input(dependant: Dependant) -> bool:
    return any(
        sub.path_params or sub.query_params or sub.header_params or sub.body_params
        for sub in (dependant, *_with_sub_dependants(dependant))
    )


def request_session(request: Request) -> AsyncSession:
    """The session `TransactionalRoute` opened for this request."""
    session: AsyncSession = request.scope[_SESSION_SCOPE_KEY]
    return session


def operation_id(route: APIRoute) -> str:
    """``users-read_user``: the feature's tag and the endpoint's name, which is what a
    client generated from the schema calls it (rather than FastAPI's default,
    ``read_user_api_v1_users__user_id__get``)."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def api_router(prefix: str = "", *, tags: list[str | Enum]) -> APIRouter:
    """A feature's router: every route a `TransactionalRoute`, with readable operation
    ids. The app includes it under `API_PREFIX`."""
    return APIRouter(
        prefix=prefix,
        tags=tags,
        route_class=TransactionalRoute,
        generate_unique_id_function=operation_id,
    )


def include_routes(app: FastAPI, router: APIRouter, *, prefix: str = "") -> None:
    """``app.include_router(router, prefix=prefix)``, with the router's routes added to
    the app's own route table rather than behind one route that stands for the router.

    Everything FastAPI does for an included router holds: ``app.dependency_overrides``,
    OpenAPI, ``url_path_for``, the route class. What differs is that a request's path is
    matched once, where FastAPI 0.165 matches it once to choose the router and again to
    choose its route (BENCHMARKS.md, "Routing").
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r} is not an APIRoute: include its router instead")
        app.router.add_api_route(
            prefix + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=route.tags,
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=route.responses,
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            route_class_override=type(route),
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            max_body_size=route.max_body_size,
        )
