"""Posts, their tags and their comments."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from agora.db.base import Base, IdPK, Timestamp, TimestampMixin
from agora.db.types import BigId, LongText, UTCDateTime, exact_string, utc_now
from agora.users.models import User

TITLE_MAX_LENGTH = 200
TAG_MAX_LENGTH = 40
MAX_TAGS_PER_POST = 10

# A post's tags. Each link carries its post's `created_at` (posts never change it) and
# `is_published` (kept with it), so that `?tag=` walks one index from the tag to its
# newest visible posts, and skips and counts in it, instead of looking up every post of
# the tag. The blog's repository writes the links (the ORM's relationship only reads
# them); deleting a post deletes them in the database.
post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", BigId, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", BigId, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    # (Rows loaded in bulk get it from their posts afterwards: PostService.recount.)
    Column("created_at", UTCDateTime(), nullable=False, default=utc_now),
    Column("is_published", Boolean(), nullable=False, default=True),
    Index(None, "tag_id", "created_at", "post_id", "is_published"),
)


class Tag(Base):
    """`post_count` is the number of published posts with the tag, kept by the blog in
    the transactions that change them (see PostService), so that `/tags` reads an index
    instead of counting every post."""

    __tablename__ = "tags"

    id: Mapped[IdPK]
    name: Mapped[str] = mapped_column(exact_string(TAG_MAX_LENGTH), unique=True)
    post_count: Mapped[int] = mapped_column(BigId, default=0, server_default="0")


# Most used first, ties by name: the order of `/tags`, read straight off this index.
Index("ix_tags_popularity", Tag.post_count.desc(), Tag.name)


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
        secondary=post_tags, order_by=Tag.name, lazy="raise", viewonly=True
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
