"""Access tokens: HS256/384/512 JWTs with a subject, an issue time and an expiry.

PyJWT is told which algorithm to accept (so ``alg: none`` and algorithm confusion are
refused) and which claims are required (it otherwise accepts a token without ``exp``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import jwt

from agora.db.types import MAX_ID
from agora.errors import NotAuthenticated

if TYPE_CHECKING:
    from agora.config import Settings

REQUIRED_CLAIMS = ["exp", "iat", "sub"]


class InvalidToken(NotAuthenticated):
    default_code = "invalid_token"
    default_detail = "The access token is invalid or has expired."


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


class TokenCodec:
    def __init__(self, *, secret: str, algorithm: str, lifetime_seconds: int) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self.lifetime_seconds = lifetime_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCodec:
        return cls(
            secret=settings.jwt_secret.get_secret_value(),
            algorithm=settings.jwt_algorithm,
            lifetime_seconds=settings.jwt_lifetime_seconds,
        )

    def issue(self, user_id: int, *, now: datetime | None = None) -> IssuedToken:
        issued_at = now or datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "iat": issued_at,
            "exp": issued_at + timedelta(seconds=self.lifetime_seconds),
        }
        token = jwt.encode(claims, self._secret, algorithm=self._algorithm)
        return IssuedToken(token, self.lifetime_seconds)

    def user_id(self, token: str) -> int:
        """The id of the user `token` was issued to, or `InvalidToken`."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken from error
        subject = claims["sub"]
        if not (isinstance(subject, str) and subject.isdecimal() and 0 < int(subject) <= MAX_ID):
            raise InvalidToken
        return int(subject)
