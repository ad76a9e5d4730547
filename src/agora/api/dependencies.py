"""Dependency aliases every feature router uses: the session, the caller, the services."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from agora.auth.passwords import PasswordHasher
from agora.auth.service import AuthService
from agora.auth.tokens import TokenCodec
from agora.errors import Forbidden, NotAuthenticated
from agora.users.models import User

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105  (a path, not a secret)

# auto_error=False: a missing token is reported by us, with our error body and code.
_bearer_token = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def get_session(request: Request) -> AsyncSession:
    """The session of the request's unit of work (opened by `TransactionalRoute`)."""
    session: AsyncSession = request.state.db_session
    return session


def get_password_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.password_hasher
    return hasher


def get_token_codec(request: Request) -> TokenCodec:
    codec: TokenCodec = request.app.state.token_codec
    return codec


SessionDep = Annotated[AsyncSession, Depends(get_session)]
PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]
TokenCodecDep = Annotated[TokenCodec, Depends(get_token_codec)]


def get_auth_service(
    session: SessionDep, passwords: PasswordHasherDep, tokens: TokenCodecDep
) -> AuthService:
    return AuthService(session, passwords, tokens)


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def get_current_user(
    token: Annotated[str | None, Depends(_bearer_token)], auth: AuthServiceDep
) -> User:
    if token is None:
        raise NotAuthenticated
    return await auth.authenticate(token)


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_admin_user(user: CurrentUser) -> User:
    if not user.is_superuser:
        raise Forbidden("This requires an administrator.")
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]
