"""The user account."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from agora.db.base import Base, IdPK, SoftDeleteMixin, TimestampMixin
from agora.db.types import BigId

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
