"""Access tokens: short-lived HS256/384/512 JWTs with a subject (the user), the session
they belong to (``sid``), an issue time and an expiry.

PyJWT is told which algorithm to accept (so ``alg: none`` and algorithm confusion are
refused) and which claims are required (it otherwise accepts a token without ``exp``).

A client sends the same token with every request until it expires, and verifying it
(signature, header, claims) costs more CPU than the two queries of a small request
(BENCHMARKS.md, "Where the time goes"). So a token
that passed is remembered, keyed by its exact text, with its subject and expiry: a later
request with the very same token only checks the expiry again. A token that fails is
never remembered, and whether the account and its session may still act is the
database's answer on every request (`TokenAuthenticator.authenticate`), never the cache's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import jwt

from agora.auth.errors import InvalidToken
from agora.db.types import MAX_ID

if TYPE_CHECKING:
    from agora.config import Settings

REQUIRED_CLAIMS = ["exp", "iat", "sub", "sid"]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says: whose it is and in which session."""

    user_id: int
    session_id: int
    expires_at: float  # the exp claim: seconds since the epoch


class TokenCodec:
    def __init__(
        self, *, secret: str, algorithm: str, lifetime_seconds: int, verified_kept: int = 0
    ) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self.lifetime_seconds = lifetime_seconds
        # Verified tokens, oldest first; at most `verified_kept` (0: none, verify each time).
        self._verified: dict[str, AccessClaims] = {}
        self._verified_kept = verified_kept

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCodec:
        return cls(
            secret=settings.signing_secret(),
            algorithm=settings.jwt_algorithm,
            lifetime_seconds=settings.jwt_lifetime_seconds,
            verified_kept=settings.jwt_verified_tokens_kept,
        )

    def issue(self, user_id: int, session_id: int, *, now: datetime | None = None) -> IssuedToken:
        issued_at = now or datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "sid": session_id,
            "iat": issued_at,
            "exp": issued_at + timedelta(seconds=self.lifetime_seconds),
        }
        token = jwt.encode(claims, self._secret, algorithm=self._algorithm)
        return IssuedToken(token, self.lifetime_seconds)

    def verify(self, token: str) -> AccessClaims:
        """Whose `token` is and in which session, or `InvalidToken` (also once it has
        expired, remembered or not)."""
        verified = self._verified.get(token)
        if verified is None:
            verified = self._verify(token)
            if self._verified_kept:
                if len(self._verified) >= self._verified_kept:
                    del self._verified[next(iter(self._verified))]
                self._verified[token] = verified
        # PyJWT's own rule: a token is expired from its exp second on.
        if time.time() >= verified.expires_at:
            raise InvalidToken
        return verified

    def _verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken from error
        subject, session = claims["sub"], claims["sid"]
        if not (isinstance(subject, str) and subject.isdecimal() and 0 < int(subject) <= MAX_ID):
            raise InvalidToken
        if not (type(session) is int and 0 < session <= MAX_ID):
            raise InvalidToken
        return AccessClaims(int(subject), session, int(claims["exp"]))
