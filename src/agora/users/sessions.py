"""Sessions of accounts: opened at login, kept alive by refresh tokens, ended at will.

A refresh token is 256 random bits, handed out once and stored only as its SHA-256. Each
refresh uses it up and issues the next (rotation). A used-up token presented again is
evidence that it was copied (RFC 9700, 4.14.2): the whole session ends, so that neither
the thief nor the client it was taken from can go on with it.

There is **no grace period** for a client that lost the response to its refresh: any
window in which a used-up token still works is a window for whoever copied it, and the
token's hash alone cannot tell the two apart. Such a client, and one that sent two
refreshes at once, signs in again; clients refresh one request at a time.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agora.db.session import after_commit
from agora.db.types import utc_now
from agora.telemetry.metrics import REFRESH_TOKEN_REUSES
from agora.users.errors import InvalidGrant, RefreshTokenReused, SessionNotFound
from agora.users.models import USER_AGENT_MAX_LENGTH, UserSession
from agora.users.repository import NEWEST_SESSIONS_FIRST, SessionRepository, live_sessions_of
from agora.users.schemas import SessionView

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from sqlalchemy.ext.asyncio import AsyncSession

    from agora.kernel.pages import PageRequest, PageResult
    from agora.kernel.principal import Principal

REFRESH_TOKEN_BYTES = 32
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """A session with its new refresh token, which is known only here and to the client."""

    id: int
    user_id: int
    refresh_token: str
    expires_at: datetime


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def readable_user_agent(header: str | None) -> str | None:
    """The User-Agent as shown in the session list: without control characters (which
    no browser sends and some databases refuse), cut to what the column holds."""
    if header is None:
        return None
    shown = "".join(c for c in header if unicodedata.category(c)[0] != "C").strip()
    return shown[:USER_AGENT_MAX_LENGTH] or None


class SessionService:
    """Each session lives `lifetime` past its last refresh (the refresh token's own
    lifetime); the methods that issue a token are given it."""

    def __init__(self, session: AsyncSession) -> None:
        self.sessions = SessionRepository(session)

    async def principal_or_none(self, user_id: int, session_id: int) -> Principal | None:
        """The caller a token speaks for: the user, if active and not deleted, in the
        session the token names, if it is theirs and live. One statement."""
        return await self.sessions.get_principal_or_none(user_id, session_id, utc_now())

    async def open(
        self, user_id: int, user_agent: str | None, *, lifetime: timedelta
    ) -> OpenedSession:
        now = utc_now()
        opened = await self.sessions.add(
            UserSession(
                user_id=user_id,
                created_at=now,
                last_used_at=now,
                expires_at=now + lifetime,
                user_agent=readable_user_agent(user_agent),
            )
        )
        return await self._issue(opened.id, user_id, now, opened.expires_at)

    async def refresh(self, refresh_token: str, *, lifetime: timedelta) -> OpenedSession:
        """Use up `refresh_token` and issue the next one, moving the session's expiry on.

        `InvalidGrant` for a token never issued, or whose session has ended or whose
        account is inactive or deleted. `RefreshTokenReused` for a token already used
        up, also by a concurrent refresh that won the race: its session has been ended
        (in this unit of work, which must commit although the request is refused)."""
        now = utc_now()
        token_hash = hash_refresh_token(refresh_token)
        grant = await self.sessions.get_grant_or_none(token_hash, now)
        if grant is None or not grant.session_live or not grant.user_active:
            raise InvalidGrant
        if grant.used_at is not None or not await self.sessions.use_refresh_token(token_hash, now):
            await self.sessions.end(UserSession.id == grant.session_id, now=now)
            message = "a used-up refresh token was presented again: session %d of user %d ended"
            after_commit(
                self.sessions.session,
                lambda: logger.warning(message, grant.session_id, grant.user_id),
            )
            after_commit(self.sessions.session, REFRESH_TOKEN_REUSES.inc)
            raise RefreshTokenReused
        expires_at = now + lifetime
        await self.sessions.extend(grant.session_id, now, expires_at)
        return await self._issue(grant.session_id, grant.user_id, now, expires_at)

    async def _issue(
        self, session_id: int, user_id: int, now: datetime, expires_at: datetime
    ) -> OpenedSession:
        token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
        await self.sessions.add_refresh_token(session_id, hash_refresh_token(token), now)
        return OpenedSession(session_id, user_id, token, expires_at)

    async def list(self, actor: Principal, page: PageRequest) -> PageResult[SessionView]:
        """The actor's live sessions, newest first, marking the one they call from."""
        found = await self.sessions.list_and_count(
            *live_sessions_of(actor.id, utc_now()), ordering=NEWEST_SESSIONS_FIRST, page=page
        )
        return found.map(
            lambda row: SessionView(
                id=row.id,
                created_at=row.created_at,
                last_used_at=row.last_used_at,
                expires_at=row.expires_at,
                user_agent=row.user_agent,
                current=row.id == actor.session_id,
            )
        )

    async def end(self, actor: Principal, session_id: int) -> None:
        """End one of the actor's live sessions; `SessionNotFound` for any other."""
        mine = (UserSession.id == session_id, UserSession.user_id == actor.id)
        if not await self.sessions.end(*mine, now=utc_now()):
            raise SessionNotFound

    async def end_current(self, actor: Principal) -> None:
        """End the session the actor calls from (a logout)."""
        if actor.session_id is not None:
            await self.end(actor, actor.session_id)

    async def end_all(self, user_id: int, *, keep: int | None = None) -> int:
        """End every live session of the user but `keep`; how many ended."""
        others = () if keep is None else (UserSession.id != keep,)
        return await self.sessions.end(UserSession.user_id == user_id, *others, now=utc_now())

    async def purge(self, *, ended_before: datetime, lifetime: timedelta) -> int:
        """Delete sessions that ended before `ended_before` (revoked or expired) and
        refresh tokens that are used up and past their `lifetime`; how many sessions."""
        return await self.sessions.purge(ended_before, utc_now() - lifetime)
