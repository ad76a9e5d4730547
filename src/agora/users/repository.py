"""All SQL about users and their sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import and_, bindparam, delete, or_, select, update

from agora.db.keyset import Ordering
from agora.db.repository import Repository
from agora.db.search import SearchIndex, text_search
from agora.kernel.principal import Principal
from agora.users.errors import EmailTaken, UsernameTaken, UserNotFound
from agora.users.models import RefreshToken, User, UserSession

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from sqlalchemy import ColumnElement, Row

    from agora.kernel.errors import DomainError


_PRINCIPAL_BY_ID = select(User.id, User.username, User.is_superuser).where(
    User.id == bindparam("id"), User.is_active.is_(True), User.deleted_at.is_(None)
)


# Every column a view of a user shows (see users.schemas), read without building an entity.
_VIEW_BY_ID = select(
    User.id,
    User.username,
    User.full_name,
    User.created_at,
    User.email,
    User.is_active,
    User.is_superuser,
    User.updated_at,
).where(User.id == bindparam("id"), User.deleted_at.is_(None))


_COUNT_POSTS = (
    update(User)
    .where(User.id == bindparam("user"))
    # (A new post is no change to the account: updated_at stays.)
    .values(post_count=User.post_count + bindparam("change"), updated_at=User.updated_at)
)
# What the migrations index for `q` (agora.db.search).
USER_SEARCH = SearchIndex("users", ("username", "full_name", "email"))
OLDEST_FIRST = Ordering("users", User.created_at, User.id)


def matching(
    text: str | None, *, search_email: bool, is_active: bool | None
) -> list[ColumnElement[bool]]:
    """Filters of the user list: `text` in the username, full name (and, with
    `search_email`, the email), and the account state."""
    where: list[ColumnElement[bool]] = []
    if text is not None:
        columns = (User.username, User.full_name, *((User.email,) if search_email else ()))
        where.append(text_search(USER_SEARCH, text, *columns))
    if is_active is not None:
        where.append(User.is_active == is_active)
    return where


class UserRepository(Repository[User]):
    model = User
    constraint_errors: ClassVar[Mapping[str, Callable[[], DomainError]]] = {
        "uq_users_email": EmailTaken,
        "uq_users_username": UsernameTaken,
    }

    async def get_principal_or_none(self, user_id: int) -> Principal | None:
        """The user as a `Principal`, if it exists, is active and is not deleted."""
        row = await self.fetch_row(_PRINCIPAL_BY_ID, {"id": user_id})
        return None if row is None else Principal(row.id, row.username, row.is_superuser)

    async def count_posts(self, user_id: int, change: int) -> None:
        await self.affected(_COUNT_POSTS, {"user": user_id, "change": change})

    async def get_view_row(self, user_id: int) -> Row[Any]:
        """The columns of the user's views, or `NotFound` (deleted users included)."""
        row = await self.fetch_row(_VIEW_BY_ID, {"id": user_id})
        if row is None:
            raise UserNotFound
        return row

    async def get_by_login_or_none(self, login: str) -> User | None:
        """The account whose username or email is `login` (either is unique), deleted or not."""
        normalized = login.strip().lower()
        return await self.get_one_or_none(
            or_(User.username == normalized, User.email == normalized), include_deleted=True
        )


_ACTIVE = (User.is_active.is_(True), User.deleted_at.is_(None))
_LIVE_SESSION = (UserSession.revoked_at.is_(None), UserSession.expires_at > bindparam("now"))
# The caller check of every authenticated request: the account is active and not
# deleted, and the session its token names is live, in one statement.
_PRINCIPAL_OF_SESSION = (
    select(User.id, User.username, User.is_superuser)
    .join(UserSession, UserSession.user_id == User.id)
    .where(UserSession.id == bindparam("session"), User.id == bindparam("id"))
    .where(*_ACTIVE, *_LIVE_SESSION)
)
# A refresh token with what decides whether it may be used: its session and its account.
_TOKEN_GRANT = (
    select(
        RefreshToken.used_at,
        UserSession.id.label("session_id"),
        UserSession.user_id,
        and_(*_LIVE_SESSION).label("session_live"),
        and_(*_ACTIVE).label("user_active"),
    )
    .join(UserSession, UserSession.id == RefreshToken.session_id)
    .join(User, User.id == UserSession.user_id)
    .where(RefreshToken.token_hash == bindparam("hash"))
)
# Uses up a token unless another request did first: the database decides, under the
# row's lock, which of two concurrent refreshes wins.
_USE_TOKEN = (
    update(RefreshToken)
    .where(RefreshToken.token_hash == bindparam("hash"), RefreshToken.used_at.is_(None))
    .values(used_at=bindparam("now"))
)
_EXTEND_SESSION = (
    update(UserSession)
    .where(UserSession.id == bindparam("session"))
    .values(last_used_at=bindparam("now"), expires_at=bindparam("expires_at"))
)
NEWEST_SESSIONS_FIRST = Ordering("sessions", UserSession.created_at.desc(), UserSession.id.desc())


class SessionRepository(Repository[UserSession]):
    model = UserSession

    async def get_principal_or_none(
        self, user_id: int, session_id: int, now: datetime
    ) -> Principal | None:
        """The user as a `Principal` of the session, if the user is active and not
        deleted and the session is theirs and neither revoked nor expired at `now`."""
        parameters = {"id": user_id, "session": session_id, "now": now}
        row = await self.fetch_row(_PRINCIPAL_OF_SESSION, parameters)
        if row is None:
            return None
        return Principal(row.id, row.username, row.is_superuser, session_id)

    async def add_refresh_token(self, session_id: int, token_hash: str, now: datetime) -> None:
        self.session.add(RefreshToken(token_hash=token_hash, session_id=session_id, issued_at=now))
        await self.flush()

    async def get_grant_or_none(self, token_hash: str, now: datetime) -> Row[Any] | None:
        """The refresh token's `used_at`, its session (`session_id`, `user_id`, whether
        `session_live`) and whether its `user_active`; None for a token never issued."""
        return await self.fetch_row(_TOKEN_GRANT, {"hash": token_hash, "now": now})

    async def use_refresh_token(self, token_hash: str, now: datetime) -> bool:
        """Mark the token used up; False when it already was."""
        return await self.affected(_USE_TOKEN, {"hash": token_hash, "now": now}) == 1

    async def extend(self, session_id: int, now: datetime, expires_at: datetime) -> None:
        await self.affected(
            _EXTEND_SESSION, {"session": session_id, "now": now, "expires_at": expires_at}
        )

    async def end(self, *where: ColumnElement[bool], now: datetime) -> int:
        """Revoke the live sessions matching `where`; how many there were."""
        ending = (
            update(UserSession).where(*where, *_live_at(now)).values(revoked_at=now, expires_at=now)
        )
        return await self.affected(ending)

    async def purge(self, ended_before: datetime, tokens_issued_before: datetime) -> int:
        """Delete the sessions that ended before `ended_before` with their refresh
        tokens, and the used-up tokens of live sessions issued before
        `tokens_issued_before` (expired: presenting one is refused either way); how many
        sessions were deleted."""
        ended = select(UserSession.id).where(UserSession.expires_at < ended_before)
        await self.affected(delete(RefreshToken).where(RefreshToken.session_id.in_(ended)))
        await self.affected(
            delete(RefreshToken).where(
                RefreshToken.used_at.is_not(None), RefreshToken.issued_at < tokens_issued_before
            )
        )
        return await self.affected(delete(UserSession).where(UserSession.expires_at < ended_before))


def live_sessions_of(user_id: int, now: datetime) -> list[ColumnElement[bool]]:
    """Filters of a user's sessions that are neither revoked nor expired at `now`."""
    return [UserSession.user_id == user_id, *_live_at(now)]


def _live_at(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (UserSession.revoked_at.is_(None), UserSession.expires_at > now)
