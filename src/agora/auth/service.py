"""Login, refresh and logout over the users feature's accounts and sessions: the tokens
are the auth feature's, what they stand for is the users feature's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agora.auth.errors import InvalidToken
from agora.users.sessions import SessionService

if TYPE_CHECKING:
    from datetime import timedelta

    from sqlalchemy.ext.asyncio import AsyncSession

    from agora.auth.tokens import TokenCodec
    from agora.kernel.principal import Principal
    from agora.users.passwords import PasswordHasher
    from agora.users.service import UserService
    from agora.users.sessions import OpenedSession


@dataclass(frozen=True, slots=True)
class Grant:
    """What the token endpoint hands out: an access token and the session's next
    refresh token, with their lifetimes in seconds."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class AuthService:
    def __init__(
        self,
        users: UserService,
        sessions: SessionService,
        passwords: PasswordHasher,
        tokens: TokenCodec,
        *,
        session_lifetime: timedelta,
    ) -> None:
        self.users = users
        self.sessions = sessions
        self.passwords = passwords
        self.tokens = tokens
        self.session_lifetime = session_lifetime

    async def login(self, login: str, password: str, user_agent: str | None) -> Grant:
        """A new session for the account named by username or email, if the password
        matches (`invalid_credentials` otherwise, whatever was wrong)."""
        principal = await self.users.check_credentials(login, password, self.passwords)
        opened = await self.sessions.open(principal.id, user_agent, lifetime=self.session_lifetime)
        return self._grant(opened)

    async def refresh(self, refresh_token: str) -> Grant:
        """The session's next tokens (`invalid_grant` for a token that cannot be used;
        see `agora.users.sessions` for reuse)."""
        opened = await self.sessions.refresh(refresh_token, lifetime=self.session_lifetime)
        return self._grant(opened)

    def _grant(self, opened: OpenedSession) -> Grant:
        access = self.tokens.issue(opened.user_id, opened.id)
        return Grant(
            access.access_token,
            access.expires_in,
            opened.refresh_token,
            int(self.session_lifetime.total_seconds()),
        )


class TokenAuthenticator:
    """The app's `agora.api.security.Authenticator`: bearer tokens issued by `login`."""

    def __init__(self, tokens: TokenCodec) -> None:
        self.tokens = tokens

    async def authenticate(self, session: AsyncSession, token: str) -> Principal:
        """Who a bearer token speaks for (an active, not deleted user, in a session that
        is neither revoked nor expired), or `InvalidToken`. Both are read on every
        request, in one statement: a deactivated user's tokens, and those of a session
        that ended, stop working at once."""
        claims = self.tokens.verify(token)
        sessions = SessionService(session)
        principal = await sessions.principal_or_none(claims.user_id, claims.session_id)
        if principal is None:
            raise InvalidToken
        return principal
