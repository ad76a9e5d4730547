"""The user account and its sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from agora.db.base import Base, IdPK, SoftDeleteMixin, Timestamp, TimestampMixin
from agora.db.types import BigId, UTCDateTime, utc_now

EMAIL_MAX_LENGTH = 320
USERNAME_MAX_LENGTH = 32
FULL_NAME_MAX_LENGTH = 100


class User(TimestampMixin, SoftDeleteMixin, Base):
    """An account. Soft-deleted users keep their rows, so their email and username stay taken.

    Email and username are stored lower-case: uniqueness and login are case-insensitive on
    every database without relying on a collation (MariaDB's is case-insensitive,
    PostgreSQL's and SQLite's are not).
    """

    __tablename__ = "users"
    __table_args__ = (Index(None, "created_at", "id"),)

    id: Mapped[IdPK]
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(FULL_NAME_MAX_LENGTH))
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    # Published posts, kept by the blog in the transactions that publish and unpublish
    # them (PostService), so that `/stats/authors` reads an index instead of counting.
    post_count: Mapped[int] = mapped_column(BigId, default=0, server_default="0")


# Most posts first, ties by lower id: the order of `/stats/authors`.
Index("ix_users_post_count", User.post_count.desc(), User.id)


USER_AGENT_MAX_LENGTH = 255


class UserSession(Base):
    """A sign-in of an account: from a login for as long as its chain of refresh tokens
    lives (each refresh moves `expires_at` on), unless it is revoked (which also sets
    `expires_at` to the moment it ended, so that every ended session is found by that one
    indexed column). Every access token names one, and the caller check refuses a token
    whose session has ended.

    `last_used_at` is when the session last issued tokens (its login or a refresh): at
    most one access token's lifetime behind a client in use, and no write per request.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (
        # A user's sessions, newest first: the session list, ending them all.
        Index(None, "user_id", "created_at", "id"),
        # What `agora sessions purge` deletes.
        Index(None, "expires_at"),
    )

    id: Mapped[IdPK]
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[Timestamp] = mapped_column(default=utc_now)
    last_used_at: Mapped[Timestamp] = mapped_column(default=utc_now)
    expires_at: Mapped[Timestamp]
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX_LENGTH))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RefreshToken(Base):
    """One refresh token a session issued, known only by its SHA-256 (a token is 256
    random bits: a fast hash is as safe as a slow one, and lets the token be its own
    lookup key). Kept once used up, so that presenting it again is recognised as reuse."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[int] = mapped_column(BigId, ForeignKey("user_sessions.id"), index=True)
    issued_at: Mapped[Timestamp] = mapped_column(default=utc_now)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
