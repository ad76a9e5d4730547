"""Business rules of the blog: who sees which posts, who may change what.

Visibility comes first: a draft exists only for its author and admins. Everyone else gets
404 for it, whatever they try (read, comment, change, delete), exactly as for a post that
does not exist. Among those who can see a post, only its author and admins change or
delete it (403 for the others); a comment can be deleted by its author, by the post's
author and by admins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agora.db.types import utc_now
from agora.posts.errors import CommentNotFound, NotYourComment, NotYourPost, PostNotFound
from agora.posts.models import Comment, Post
from agora.posts.repository import (
    COMMENT_WITH_AUTHOR,
    NEWEST_FIRST,
    OLDEST_COMMENTS_FIRST,
    POST_LOADING,
    WITH_COMMENTS,
    WITH_TAGS,
    CommentRepository,
    PostRepository,
    TagRepository,
    narrowing,
    visible_to,
)
from agora.posts.schemas import AuthorStat, CommentRead, PostDetail, PostRead, TagStat
from agora.users.service import UserService

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm.interfaces import ORMOption

    from agora.kernel.pages import PageRequest, PageResult
    from agora.kernel.principal import Principal
    from agora.posts.repository import PostFilter
    from agora.posts.schemas import CommentCreate, PostCreate, PostUpdate


@dataclass(frozen=True, slots=True)
class Counted:
    """What a post adds to the published post counts: 1 to its author and to each of its
    tags when it is published, nothing otherwise (a draft, or no post at all)."""

    published: bool = False
    tag_ids: set[int] = field(default_factory=set)

    @property
    def counts(self) -> int:
        return 1 if self.published else 0

    @property
    def counted_tags(self) -> set[int]:
        return self.tag_ids if self.published else set()


def _may_edit(actor: Principal, post: Post) -> bool:
    return actor.is_superuser or actor.id == post.author_id


class PostService:
    def __init__(self, session: AsyncSession) -> None:
        self.posts = PostRepository(session)
        self.tags = TagRepository(session)
        self.comments = CommentRepository(session)
        self.users = UserService(session)

    async def get(self, viewer: Principal | None, post_id: int) -> PostDetail:
        """The post with its comments, if `viewer` may see it."""
        return PostDetail.model_validate(
            await self._visible(post_id, viewer, options=WITH_COMMENTS)
        )

    async def search(
        self, viewer: Principal | None, filters: PostFilter, page: PageRequest
    ) -> PageResult[PostRead]:
        where = narrowing(filters)
        if filters.tag is None:
            found = await self.posts.list_and_count(
                visible_to(viewer), *where, ordering=NEWEST_FIRST, page=page, options=POST_LOADING
            )
        else:
            found = await self.posts.tagged(
                filters.tag, viewer, *where, page=page, options=POST_LOADING
            )
        return found.map(PostRead.model_validate)

    async def create(self, author: Principal, data: PostCreate) -> PostRead:
        tags = await self.tags.named(data.tags)
        tag_ids = {tag.id for tag in tags}
        # Counted before the post is written: the author's row is then locked for the
        # update first. Inserting the post first would take a shared lock on it (the
        # foreign key's check), and two posts of one author upgrading theirs to write
        # the count deadlock on MariaDB.
        await self._count(author.id, Counted(), Counted(data.is_published, tag_ids))
        post = await self.posts.add(
            Post(
                author_id=author.id,
                title=data.title,
                content=data.content,
                is_published=data.is_published,
            )
        )
        await self.posts.link(post, tag_ids)
        return await self._reloaded(post, author)

    async def update(self, actor: Principal, post_id: int, data: PostUpdate) -> PostRead:
        post = await self._editable(actor, post_id)
        before = Counted(post.is_published, {tag.id for tag in post.tags})
        changes: dict[str, Any] = data.changes()
        had = has = before.tag_ids
        if (tags := changes.pop("tags", None)) is not None:
            has = {tag.id for tag in await self.tags.named(tags)}
            await self.posts.unlink(post, had - has)
            await self.posts.link(post, has - had)
        if changes or tags is not None:
            # A change of tags alone updates no column of posts; the post still changed.
            changes["updated_at"] = utc_now()
        await self.posts.update(post, changes)
        if post.is_published != before.published:
            await self.posts.publish_links(post)
        await self._count(post.author_id, before, Counted(post.is_published, has))
        return await self._reloaded(post, actor)

    async def delete(self, actor: Principal, post_id: int) -> None:
        """The post goes, and with it (in the database) its comments and tag links."""
        post = await self._editable(actor, post_id)
        before = Counted(post.is_published, {tag.id for tag in post.tags})
        await self._count(post.author_id, before, Counted())
        await self.posts.delete(post)

    async def _count(self, author_id: int, before: Counted, after: Counted) -> None:
        """Keep the published post counts of tags and of the author, in the transaction
        that changes a post from `before` to `after`: only what changed is written."""
        had, has = before.counted_tags, after.counted_tags
        await self.tags.count_posts(has - had, 1)
        await self.tags.count_posts(had - has, -1)
        await self.users.count_published_posts(author_id, after.counts - before.counts)

    async def recount(self) -> None:
        """Recompute what the blog keeps beside its rows (tag links' dates, post counts
        of tags and authors) from the rows: after rows were loaded in bulk."""
        await self.posts.recount()

    async def comment(self, author: Principal, post_id: int, data: CommentCreate) -> CommentRead:
        await self._visible(post_id, author)
        comment = await self.comments.add(
            Comment(post_id=post_id, author_id=author.id, content=data.content)
        )
        return CommentRead.model_validate(
            await self.comments.get(comment.id, options=COMMENT_WITH_AUTHOR)
        )

    async def comments_of(
        self, viewer: Principal | None, post_id: int, page: PageRequest
    ) -> PageResult[CommentRead]:
        await self._visible(post_id, viewer)
        found = await self.comments.list_and_count(
            Comment.post_id == post_id,
            ordering=OLDEST_COMMENTS_FIRST,
            page=page,
            options=COMMENT_WITH_AUTHOR,
        )
        return found.map(CommentRead.model_validate)

    async def delete_comment(self, actor: Principal, comment_id: int) -> None:
        comment = await self.comments.get_one_or_none(Comment.id == comment_id)
        post = None if comment is None else await self._visible_or_none(comment.post_id, actor)
        if comment is None or post is None:
            raise CommentNotFound
        if actor.id != comment.author_id and not _may_edit(actor, post):
            raise NotYourComment
        await self.comments.delete(comment)

    async def named_tags(self, names: list[str]) -> dict[str, int]:
        """The ids of the tags with these normalized names, created when missing."""
        return {tag.name: tag.id for tag in await self.tags.named(names)}

    async def tag_popularity(self, page: PageRequest) -> PageResult[TagStat]:
        found = await self.tags.popularity(page)
        return found.map(TagStat.model_validate)

    async def author_post_counts(
        self, *, min_posts: int, page: PageRequest
    ) -> PageResult[AuthorStat]:
        found = await self.posts.author_post_counts(min_posts=min_posts, page=page)
        return found.map(AuthorStat.model_validate)

    async def _visible_or_none(
        self, post_id: int, viewer: Principal | None, options: Sequence[ORMOption] = POST_LOADING
    ) -> Post | None:
        """The post, if `viewer` may see it (with its author, tags and comment count)."""
        return await self.posts.get_one_or_none(
            Post.id == post_id, visible_to(viewer), options=options
        )

    async def _visible(
        self, post_id: int, viewer: Principal | None, options: Sequence[ORMOption] = POST_LOADING
    ) -> Post:
        post = await self._visible_or_none(post_id, viewer, options)
        if post is None:
            raise PostNotFound
        return post

    async def _editable(self, actor: Principal, post_id: int) -> Post:
        post = await self._visible(post_id, actor, options=WITH_TAGS)
        if not _may_edit(actor, post):
            raise NotYourPost
        return post

    async def _reloaded(self, post: Post, viewer: Principal) -> PostRead:
        """The post as responses show it: with author, tags and comment count."""
        return PostRead.model_validate(await self._visible(post.id, viewer))
