"""Who is calling: the ``Authorization: Bearer`` token, as dependencies.

`api/` knows no feature, so it does not know how a token is checked: the app gives it an
`Authenticator` (``app.state.authenticator``, the auth feature's) and these dependencies
ask it. Override `current_user` or `optional_user` in ``app.dependency_overrides`` to
call the API as anyone in a test.
"""

from typing import TYPE_CHECKING, Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.ext.asyncio import AsyncSession

from agora.api.routing import API_PREFIX, READ_ONLY_METHODS, documents_errors, request_session
from agora.kernel.errors import Forbidden, NotAuthenticated
from agora.kernel.principal import Principal
from agora.telemetry.context import current_request

if TYPE_CHECKING:
    from agora.api.ratelimit import RateLimiter

TOKEN_URL = f"{API_PREFIX}/auth/token"


class Authenticator(Protocol):
    async def authenticate(self, session: AsyncSession, token: str) -> Principal:
        """Who `token` speaks for, or a `NotAuthenticated` error."""
        ...


class _BearerCaller(SecurityBase):
    """The caller as one dependency that is also its own security scheme (the OAuth2
    password flow, with the token URL), so OpenAPI documents it and /docs can sign in
    without a separate token dependency on every request."""

    def __init__(self, *, required: bool) -> None:
        scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
        self.model = scheme.model
        self.scheme_name = scheme.scheme_name
        self.required = required

    async def __call__(self, request: Request) -> Principal | None:
        """Who the bearer token speaks for (read as ``OAuth2PasswordBearer`` reads the
        header); None without a token, unless one is `required` (401). A token that is
        sent must be valid: a bad one is a 401, never silently anonymous.

        The account is read on the request's session, taken from the unit of work
        directly rather than through `SessionDep`: this runs on every authenticated
        request, and a level of dependencies costs about 4% of a small read
        (BENCHMARKS.md, "The cost of idioms"). A write (not GET, HEAD, OPTIONS) is
        counted against the caller's rate limit here. Override `current_user` to change
        who calls."""
        scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
        if scheme.lower() != "bearer":
            if self.required:
                raise NotAuthenticated
            return None
        authenticator: Authenticator = request.app.state.authenticator
        caller = await authenticator.authenticate(request_session(request), token)
        if (context := current_request()) is not None:
            context.user_id = caller.id
        if request.method not in READ_ONLY_METHODS:
            limiter: RateLimiter = request.app.state.rate_limiter
            await limiter.count_write(caller.id)
        return caller


_WRITES_LIMITED = "rate_limited: too many writes by this user (not on GET)"
current_user = documents_errors({401: "not_authenticated, or invalid_token", 429: _WRITES_LIMITED})(
    _BearerCaller(required=True)
)
optional_user = documents_errors(
    {401: "invalid_token: a token that is sent must be valid", 429: _WRITES_LIMITED}
)(_BearerCaller(required=False))

CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]


@documents_errors({403: "forbidden: this requires an administrator"})
async def get_admin_user(user: CurrentUser) -> Principal:
    if not user.is_superuser:
        raise Forbidden("This requires an administrator.")
    return user


AdminUser = Annotated[Principal, Depends(get_admin_user)]
