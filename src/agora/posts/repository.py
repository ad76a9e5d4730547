"""All SQL of the blog: posts with their authors, tags and comment counts, comments,
tag and author statistics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import joinedload, selectinload, with_expression

from agora.db.repository import Repository, paginate, text_search
from agora.posts.models import Comment, Post, Tag, post_tags
from agora.users.models import User

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agora.kernel.pages import PageResult
    from agora.kernel.principal import Principal

# Counted in the database, per post, from the (post_id, created_at, id) index.
_COMMENT_COUNT = (
    select(func.count(Comment.id))
    .where(Comment.post_id == Post.id)
    .correlate(Post)
    .scalar_subquery()
)
# What a post in a response needs, in a constant number of statements whatever the
# page size: the author joined, the tags in one SELECT ... IN, the count as a column.
POST_LOADING = (
    joinedload(Post.author),
    selectinload(Post.tags),
    with_expression(Post.comment_count, _COMMENT_COUNT),
)


@dataclass(frozen=True, slots=True)
class PostFilter:
    """What the post list is narrowed to (None: not filtered)."""

    author: str | None = None  # a username, lower-case
    tag: str | None = None
    text: str | None = None
    published: bool | None = None


def visible_to(viewer: Principal | None) -> ColumnElement[bool]:
    """Posts `viewer` may know exist: published ones, its own drafts; admins see all."""
    if viewer is None:
        return Post.is_published.is_(True)
    if viewer.is_superuser:
        return true()
    return or_(Post.is_published.is_(True), Post.author_id == viewer.id)


NEWEST_FIRST = (Post.created_at.desc(), Post.id.desc())
# The comments of a post, with their authors, as `GET /posts/{id}` shows them.
WITH_COMMENTS = (*POST_LOADING, selectinload(Post.comments).joinedload(Comment.author))
WITH_TAGS = (selectinload(Post.tags),)


def matching(viewer: Principal | None, filters: PostFilter) -> list[ColumnElement[bool]]:
    """Filters of the post list: what `viewer` may see, narrowed by `filters`."""
    where = [visible_to(viewer)]
    if filters.author is not None:
        where.append(Post.author.has(username=filters.author))
    if filters.tag is not None:
        where.append(Post.tags.any(Tag.name == filters.tag))
    if filters.text is not None:
        where.append(text_search(filters.text, Post.title, Post.content))
    if filters.published is not None:
        where.append(Post.is_published.is_(filters.published))
    return where


class PostRepository(Repository[Post]):
    model = Post

    async def author_post_counts(
        self, *, min_posts: int, limit: int, offset: int
    ) -> PageResult[Any]:
        """Users that are not deleted with their number of published posts, most first
        (ties: lower id first), in one aggregate query; the outer join keeps authors of
        nothing, with 0."""
        post_count = func.count(Post.id)
        statement = (
            select(User.id.label("user_id"), User.username, post_count.label("post_count"))
            .outerjoin(Post, and_(Post.author_id == User.id, Post.is_published.is_(True)))
            .where(User.deleted_at.is_(None))
            .group_by(User.id, User.username)
            .having(post_count >= min_posts)
            .order_by(post_count.desc(), User.id)
        )
        return await paginate(self.session, statement, limit=limit, offset=offset, rows=True)


class TagRepository(Repository[Tag]):
    model = Tag

    async def named(self, names: Sequence[str]) -> list[Tag]:
        """The tags with these (normalized) names, created when missing.

        Safe when concurrent requests create the same new tag: the INSERT skips names
        that exist, and the locking read sees rows another transaction just committed
        (MariaDB's REPEATABLE READ snapshot would not). Names are handled in sorted
        order so that two transactions lock them in the same order.
        """
        if not names:
            return []
        ordered = sorted(set(names))
        await self.add_missing([{"name": name} for name in ordered])
        statement = select(Tag).where(Tag.name.in_(ordered)).order_by(Tag.name)
        result = await self.session.execute(statement.with_for_update(read=True))
        return list(result.scalars())

    async def popularity(self, *, limit: int, offset: int) -> PageResult[Any]:
        """Tags of published posts with their number of published posts, most used
        first (ties: by name), in one aggregate query."""
        post_count = func.count(Post.id)
        statement = (
            select(Tag.name, post_count.label("post_count"))
            .join(post_tags, post_tags.c.tag_id == Tag.id)
            .join(Post, and_(Post.id == post_tags.c.post_id, Post.is_published.is_(True)))
            .group_by(Tag.id, Tag.name)
            .order_by(post_count.desc(), Tag.name)
        )
        return await paginate(self.session, statement, limit=limit, offset=offset, rows=True)


COMMENT_WITH_AUTHOR = (joinedload(Comment.author),)
OLDEST_COMMENTS_FIRST = (Comment.created_at, Comment.id)


class CommentRepository(Repository[Comment]):
    model = Comment
