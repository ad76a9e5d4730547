"""Posts, their tags and their comments."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from agora.db.base import Base, IdPK, Timestamp, TimestampMixin
from agora.db.types import BigId, LongText, exact_string, utc_now
from agora.users.models import User

TITLE_MAX_LENGTH = 200
TAG_MAX_LENGTH = 40
MAX_TAGS_PER_POST = 10

# Deleting a post deletes its tag links in the database (ON DELETE CASCADE); the ORM is
# told so with passive_deletes and never loads the collection to delete it.
post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", BigId, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", BigId, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "tag_id"),
)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[IdPK]
    name: Mapped[str] = mapped_column(exact_string(TAG_MAX_LENGTH), unique=True)


class Post(TimestampMixin, Base):
    __tablename__ = "posts"
    __table_args__ = (
        Index(None, "created_at", "id"),
        Index(None, "author_id", "created_at"),
        Index(None, "is_published", "created_at"),
    )

    id: Mapped[IdPK]
    # Users are only ever soft-deleted, and keep their posts; deleting one for real is
    # refused while it has posts (no ON DELETE action).
    author_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    # 100,000 characters can be 400 kB: more than MariaDB's TEXT holds.
    content: Mapped[str] = mapped_column(LongText)
    is_published: Mapped[bool] = mapped_column(default=True)

    author: Mapped[User] = relationship(lazy="raise")
    tags: Mapped[list[Tag]] = relationship(
        secondary=post_tags, order_by=Tag.name, lazy="raise", passive_deletes=True
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="post",
        order_by="(Comment.created_at, Comment.id)",
        lazy="raise",
        passive_deletes=True,
    )
    # Filled by the queries that ask for it (with_expression), from an aggregate: the
    # comments themselves are never loaded to be counted.
    comment_count: Mapped[int | None] = query_expression()

    @property
    def tag_names(self) -> list[str]:
        return [tag.name for tag in self.tags]


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (Index(None, "post_id", "created_at", "id"),)

    id: Mapped[IdPK]
    post_id: Mapped[int] = mapped_column(BigId, ForeignKey("posts.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp] = mapped_column(default=utc_now)

    post: Mapped[Post] = relationship(back_populates="comments", lazy="raise")
    author: Mapped[User] = relationship(lazy="raise")
