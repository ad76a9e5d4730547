"""POST /auth/token: the OAuth2 password flow."""

from typing import Annotated

from fastapi import Form

from agora.api.dependencies import AuthServiceDep
from agora.api.routing import api_router
from agora.auth.schemas import TokenResponse
from agora.users.schemas import PASSWORD_MAX_LENGTH

router = api_router("/auth", tags=["auth"])

NO_NUL = r"^[^\x00]*$"


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={401: {"description": "invalid_credentials"}},
)
async def issue_token(
    username: Annotated[
        str, Form(min_length=1, max_length=320, pattern=NO_NUL, description="username or email")
    ],
    password: Annotated[str, Form(min_length=1, max_length=PASSWORD_MAX_LENGTH, pattern=NO_NUL)],
    auth: AuthServiceDep,
) -> TokenResponse:
    """Trade a username (or email) and password for a bearer token."""
    issued = await auth.login(username, password)
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)
