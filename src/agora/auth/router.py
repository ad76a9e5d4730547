"""POST /auth/token: the OAuth2 password flow."""

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Form, Request

from agora.api.dependencies import SessionDep
from agora.api.ratelimit import ClientAddress, RateLimiterDep
from agora.api.routing import api_router
from agora.auth.schemas import TokenResponse
from agora.auth.service import AuthService
from agora.users.errors import InvalidCredentials
from agora.users.schemas import PASSWORD_MAX_LENGTH
from agora.users.service import UserService

if TYPE_CHECKING:
    from agora.auth.tokens import TokenCodec
    from agora.users.passwords import PasswordHasher

router = api_router("/auth", tags=["auth"])

NO_NUL = r"^[^\x00]*$"


async def get_auth_service(request: Request, session: SessionDep) -> AuthService:
    passwords: PasswordHasher = request.app.state.password_hasher
    tokens: TokenCodec = request.app.state.token_codec
    return AuthService(UserService(session), passwords, tokens)


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={
        401: {"description": "invalid_credentials"},
        429: {"description": "rate_limited: too many failed logins for it or from here"},
    },
)
async def issue_token(
    username: Annotated[
        str, Form(min_length=1, max_length=320, pattern=NO_NUL, description="username or email")
    ],
    password: Annotated[str, Form(min_length=1, max_length=PASSWORD_MAX_LENGTH, pattern=NO_NUL)],
    auth: AuthServiceDep,
    limiter: RateLimiterDep,
    address: ClientAddress,
) -> TokenResponse:
    """Trade a username (or email) and password for a bearer token. Too many failures
    for the login or from the address are 429 `rate_limited`, before any hashing."""
    await limiter.check_login(username, address)
    try:
        issued = await auth.login(username, password)
    except InvalidCredentials:
        await limiter.count_failed_login(username, address)
        raise
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)
