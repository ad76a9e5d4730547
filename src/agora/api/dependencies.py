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
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.ext.asyncio import AsyncSession

from agora.api.routing import API_PREFIX, SESSION_SCOPE_KEY
from agora.auth.passwords import PasswordHasher
from agora.auth.principal import Principal
from agora.auth.service import AuthService
from agora.auth.tokens import TokenCodec
from agora.db.session import Database
from agora.errors import Forbidden, NotAuthenticated

TOKEN_URL = f"{API_PREFIX}/auth/token"


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


class _BearerCaller(SecurityBase):
    """The caller, from the ``Authorization: Bearer`` header, as a single dependency.

    It is its own security scheme (the OAuth2 password flow, with the token URL), so
    OpenAPI documents it and /docs can sign in, without the separate token dependency
    that ``OAuth2PasswordBearer`` would add to every authenticated request (each level
    of dependencies costs FastAPI tens of microseconds).
    """

    def __init__(self) -> None:
        scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
        self.model = scheme.model
        self.scheme_name = scheme.scheme_name

    @staticmethod
    async def caller(request: Request) -> Principal | None:
        """Who the bearer token sent speaks for (read as ``OAuth2PasswordBearer`` reads
        the header), None without one; a token that is sent must be valid (401)."""
        scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
        if scheme.lower() != "bearer":
            return None
        return await auth_service_of(request).authenticate(token)


class _CurrentUser(_BearerCaller):
    async def __call__(self, request: Request) -> Principal:
        caller = await self.caller(request)
        if caller is None:
            raise NotAuthenticated
        return caller


class _OptionalUser(_BearerCaller):
    """The caller on endpoints open to anonymous clients. A token that is sent must be
    valid: a bad one is a 401, never silently treated as anonymous."""

    async def __call__(self, request: Request) -> Principal | None:
        return await self.caller(request)


CurrentUser = Annotated[Principal, Depends(_CurrentUser())]
OptionalUser = Annotated[Principal | None, Depends(_OptionalUser())]


async def get_admin_user(user: CurrentUser) -> Principal:
    if not user.is_superuser:
        raise Forbidden("This requires an administrator.")
    return user


AdminUser = Annotated[Principal, Depends(get_admin_user)]
