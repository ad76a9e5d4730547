"""Dependency aliases every feature router uses: the session, the caller, the services.

Every dependency is ``async def``, even when it awaits nothing: FastAPI runs a plain
``def`` dependency in a worker thread, and those hops cost more than the queries of a
simple request. The graph is kept flat for the same reason: each resolved dependency
costs tens of microseconds, so services are built from the request in one step (with
the typed accessors below) rather than from a chain of sub-dependencies.
"""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from agora.api.routing import SESSION_SCOPE_KEY
from agora.auth.passwords import PasswordHasher
from agora.auth.principal import Principal
from agora.auth.service import AuthService
from agora.auth.tokens import TokenCodec
from agora.db.session import Database
from agora.errors import Forbidden, NotAuthenticated

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105  (a path, not a secret)

# auto_error=False: a missing token is reported by us, with our error body and code.
_bearer_token = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def session_of(request: Request) -> AsyncSession:
    """The session of the request's unit of work (opened by `TransactionalRoute`)."""
    session: AsyncSession = request.scope[SESSION_SCOPE_KEY]
    return session


def database_of(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def password_hasher_of(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.password_hasher
    return hasher


def token_codec_of(request: Request) -> TokenCodec:
    codec: TokenCodec = request.app.state.token_codec
    return codec


def auth_service_of(request: Request) -> AuthService:
    return AuthService(session_of(request), password_hasher_of(request), token_codec_of(request))


ServiceT = TypeVar("ServiceT")


def session_service(
    factory: Callable[[AsyncSession], ServiceT],
) -> Callable[[Request], Coroutine[Any, Any, ServiceT]]:
    """The dependency that builds a feature's service on the request's session:
    ``Annotated[ShopService, Depends(session_service(ShopService))]``."""

    async def provide(request: Request) -> ServiceT:
        return factory(session_of(request))

    return provide


async def get_session(request: Request) -> AsyncSession:
    return session_of(request)


async def get_auth_service(request: Request) -> AuthService:
    return auth_service_of(request)


SessionDep = Annotated[AsyncSession, Depends(get_session)]
AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def get_current_user(
    request: Request, token: Annotated[str | None, Depends(_bearer_token)]
) -> Principal:
    if token is None:
        raise NotAuthenticated
    return await auth_service_of(request).authenticate(token)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def get_optional_user(
    request: Request, token: Annotated[str | None, Depends(_bearer_token)]
) -> Principal | None:
    """The caller on endpoints open to anonymous clients. A token that is sent must be
    valid: a bad one is a 401, never silently treated as anonymous."""
    if token is None:
        return None
    return await auth_service_of(request).authenticate(token)


OptionalUser = Annotated[Principal | None, Depends(get_optional_user)]


async def get_admin_user(user: CurrentUser) -> Principal:
    if not user.is_superuser:
        raise Forbidden("This requires an administrator.")
    return user


AdminUser = Annotated[Principal, Depends(get_admin_user)]
