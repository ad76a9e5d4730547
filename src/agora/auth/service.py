"""Login and token authentication."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.auth.tokens import InvalidToken
from agora.errors import InvalidCredentials
from agora.users.repository import UserRepository

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from agora.auth.passwords import PasswordHasher
    from agora.auth.principal import Principal
    from agora.auth.tokens import IssuedToken, TokenCodec


class AuthService:
    def __init__(self, session: AsyncSession, passwords: PasswordHasher, tokens: TokenCodec):
        self.users = UserRepository(session)
        self.passwords = passwords
        self.tokens = tokens

    async def login(self, login: str, password: str) -> IssuedToken:
        """A token for the account named by username or email, if the password matches.

        Unknown, deleted and deactivated accounts fail exactly like a wrong password, and
        take as long, so a response never tells which accounts exist.
        """
        user = await self.users.get_by_login(login)
        if user is None:
            await self.passwords.verify_decoy(password)
            raise InvalidCredentials
        matches, updated_hash = await self.passwords.verify(password, user.hashed_password)
        if not matches or user.is_deleted or not user.is_active:
            raise InvalidCredentials
        if updated_hash is not None:
            # The hashing parameters were raised since this hash was made.
            await self.users.update(user, {"hashed_password": updated_hash})
        return self.tokens.issue(user.id)

    async def authenticate(self, token: str) -> Principal:
        """Who a bearer token speaks for (an active, not deleted user), or `InvalidToken`."""
        principal = await self.users.get_principal(self.tokens.user_id(token))
        if principal is None:
            raise InvalidToken
        return principal
