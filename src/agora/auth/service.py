"""Login and token authentication; accounts and passwords are the users feature's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.auth.errors import InvalidToken
from agora.users.service import UserService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from agora.auth.tokens import IssuedToken, TokenCodec
    from agora.kernel.principal import Principal
    from agora.users.passwords import PasswordHasher


class AuthService:
    def __init__(self, users: UserService, passwords: PasswordHasher, tokens: TokenCodec) -> None:
        self.users = users
        self.passwords = passwords
        self.tokens = tokens

    async def login(self, login: str, password: str) -> IssuedToken:
        """A token for the account named by username or email, if the password matches
        (`invalid_credentials` otherwise, whatever was wrong)."""
        principal = await self.users.check_credentials(login, password, self.passwords)
        return self.tokens.issue(principal.id)


class TokenAuthenticator:
    """The app's `agora.api.security.Authenticator`: bearer tokens issued by `login`."""

    def __init__(self, tokens: TokenCodec) -> None:
        self.tokens = tokens

    async def authenticate(self, session: AsyncSession, token: str) -> Principal:
        """Who a bearer token speaks for (an active, not deleted user), or `InvalidToken`.
        The account's state is read on every request: a deactivated user's tokens stop
        working at once."""
        user_id = self.tokens.user_id(token)
        principal = await UserService(session).get_principal_or_none(user_id)
        if principal is None:
            raise InvalidToken
        return principal
