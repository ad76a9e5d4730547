"""/auth: the OAuth2 token endpoint (password and refresh-token grants), logout and the
caller's sessions."""

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, Form, Header, Request, Response, status
from fastapi.exceptions import RequestValidationError

from agora.api.dependencies import SessionDep
from agora.api.errors import domain_error_response
from agora.api.params import Pagination, PathId
from agora.api.ratelimit import ClientAddress, RateLimiterDep
from agora.api.routing import api_router
from agora.api.schemas import not_found
from agora.api.security import CurrentUser
from agora.auth.schemas import TokenResponse
from agora.auth.service import AuthService, Grant
from agora.telemetry.metrics import LOGINS_FAILED
from agora.users.errors import InvalidCredentials, RefreshTokenReused
from agora.users.schemas import PASSWORD_MAX_LENGTH, SessionCursorList, SessionList
from agora.users.service import UserService
from agora.users.sessions import SessionService

if TYPE_CHECKING:
    from agora.auth.tokens import TokenCodec
    from agora.config import Settings
    from agora.users.passwords import PasswordHasher

router = api_router("/auth", tags=["auth"])

NO_NUL = r"^[^\x00]*$"
# Refresh tokens are 43 characters; anything much longer was never issued.
REFRESH_TOKEN_MAX_LENGTH = 128


async def get_session_service(session: SessionDep) -> SessionService:
    return SessionService(session)


SessionServiceDep = Annotated[SessionService, Depends(get_session_service)]


async def get_auth_service(
    request: Request, session: SessionDep, sessions: SessionServiceDep
) -> AuthService:
    passwords: PasswordHasher = request.app.state.password_hasher
    tokens: TokenCodec = request.app.state.token_codec
    settings: Settings = request.app.state.settings
    lifetime = timedelta(seconds=settings.refresh_token_lifetime_seconds)
    return AuthService(UserService(session), sessions, passwords, tokens, session_lifetime=lifetime)


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


def _missing(*fields: str) -> RequestValidationError:
    """The 422 FastAPI answers for a missing form field: these fields are required by
    one grant type and not the other."""
    return RequestValidationError(
        [{"type": "missing", "loc": ("body", name), "msg": "Field required"} for name in fields]
    )


def _token_response(grant: Grant) -> TokenResponse:
    return TokenResponse(
        access_token=grant.access_token,
        expires_in=grant.expires_in,
        refresh_token=grant.refresh_token,
        refresh_expires_in=grant.refresh_expires_in,
    )


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={
        400: {"description": "invalid_grant: the refresh token cannot be used"},
        401: {"description": "invalid_credentials"},
        429: {"description": "rate_limited: too many failed logins for it or from here"},
    },
)
async def issue_token(
    auth: AuthServiceDep,
    limiter: RateLimiterDep,
    address: ClientAddress,
    grant_type: Annotated[Literal["password", "refresh_token"], Form()] = "password",
    username: Annotated[
        str | None,
        Form(min_length=1, max_length=320, pattern=NO_NUL, description="username or email"),
    ] = None,
    password: Annotated[
        str | None, Form(min_length=1, max_length=PASSWORD_MAX_LENGTH, pattern=NO_NUL)
    ] = None,
    refresh_token: Annotated[
        str | None, Form(min_length=1, max_length=REFRESH_TOKEN_MAX_LENGTH, pattern=NO_NUL)
    ] = None,
    user_agent: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    """Trade a username (or email) and password for tokens and a new session
    (`grant_type=password`, the default), or a refresh token for the session's next
    tokens (`grant_type=refresh_token`; the one sent is used up).

    Too many failed logins for the login or from the address are 429 `rate_limited`,
    before any hashing. A refresh token that was already used up ends its session."""
    if grant_type == "refresh_token":
        if refresh_token is None:
            raise _missing("refresh_token")
        try:
            return _token_response(await auth.refresh(refresh_token))
        except RefreshTokenReused as reused:
            # Answered rather than raised: the unit of work commits the ended session.
            return domain_error_response(reused)
    if username is None or password is None:
        raise _missing(
            *(
                name
                for name, value in (("username", username), ("password", password))
                if value is None
            )
        )
    await limiter.check_login(username, address)
    try:
        grant = await auth.login(username, password, user_agent)
    except InvalidCredentials:
        LOGINS_FAILED.inc()
        await limiter.count_failed_login(username, address)
        raise
    return _token_response(grant)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(actor: CurrentUser, sessions: SessionServiceDep) -> Response:
    """End the caller's session: its access token stops working on the next request and
    its refresh token can no longer be used."""
    await sessions.end_current(actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/sessions", response_model=SessionList | SessionCursorList)
async def list_sessions(
    actor: CurrentUser, sessions: SessionServiceDep, pagination: Pagination
) -> SessionList | SessionCursorList:
    """The caller's live sessions, newest first; `current` marks the calling one."""
    result = await sessions.list(actor, pagination.request)
    return pagination.listing(result, SessionList, SessionCursorList)


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=not_found("no live session of the caller's has this id"),
)
async def end_session(
    session_id: PathId, actor: CurrentUser, sessions: SessionServiceDep
) -> Response:
    """End one of the caller's sessions (the current one too: that is a logout)."""
    await sessions.end(actor, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/sessions", status_code=status.HTTP_204_NO_CONTENT)
async def end_other_sessions(actor: CurrentUser, sessions: SessionServiceDep) -> Response:
    """End every session of the caller's except the one making this call."""
    await sessions.end_all(actor.id, keep=actor.session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
