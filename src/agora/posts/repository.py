"""All SQL of the blog: posts with their authors, tags and comment counts, comments,
tag and author statistics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    bindparam,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import joinedload, selectinload, with_expression

from agora.db.keyset import Ordering
from agora.db.repository import Repository, paginate
from agora.db.search import SearchIndex, split_search, text_search
from agora.posts.models import Comment, Post, Tag, post_tags
from agora.users.models import User

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy.orm.interfaces import ORMOption

    from agora.kernel.pages import PageRequest, PageResult
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
        return Post.is_published == true()
    if viewer.is_superuser:
        return true()
    return or_(Post.is_published == true(), Post.author_id == viewer.id)


# What the migrations index for `q` (agora.db.search).
POST_SEARCH = SearchIndex("posts", ("title", "content"))
NEWEST_FIRST = Ordering("posts", Post.created_at.desc(), Post.id.desc())
# The same order read off a tag's links (which carry their posts' created_at): the
# cursors of the two are interchangeable.
NEWEST_TAGGED_FIRST = Ordering(
    "posts",
    post_tags.c.created_at.desc(),
    post_tags.c.post_id.desc(),
    attributes=("created_at", "id"),
)
MOST_USED_FIRST = Ordering("tags", Tag.post_count.desc(), Tag.name)
MOST_POSTS_FIRST = Ordering(
    "authors", User.post_count.desc(), User.id, attributes=("post_count", "user_id")
)
# The comments of a post, with their authors, as `GET /posts/{id}` shows them.
WITH_COMMENTS = (*POST_LOADING, selectinload(Post.comments).joinedload(Comment.author))
WITH_TAGS = (selectinload(Post.tags),)


def linked_visible_to(viewer: Principal | None) -> ColumnElement[bool]:
    """`visible_to`, decided on tag links (which carry their post's `is_published`)
    without looking up their posts: the viewer's own drafts are one small subquery."""
    if viewer is None:
        return post_tags.c.is_published == true()
    if viewer.is_superuser:
        return true()
    own_drafts = select(Post.id).where(Post.author_id == viewer.id, Post.is_published == false())
    return or_(post_tags.c.is_published == true(), post_tags.c.post_id.in_(own_drafts))


def narrowing(filters: PostFilter) -> list[ColumnElement[bool]]:
    """Filters of the post list but the tag (`PostRepository.tagged`) and visibility."""
    where: list[ColumnElement[bool]] = []
    if filters.author is not None:
        # The author's id as a constant: the (author_id, created_at) index then serves
        # the list (SQLite checked an EXISTS on every post instead).
        author = select(User.id).where(User.username == filters.author).scalar_subquery()
        where.append(Post.author_id == author)
    if filters.text is not None:
        where.append(text_search(POST_SEARCH, filters.text, Post.title, Post.content))
    if filters.published is not None:
        where.append(Post.is_published == filters.published)
    return where


_LINK = insert(post_tags)
_UNLINK = delete(post_tags).where(
    post_tags.c.post_id == bindparam("post"),
    post_tags.c.tag_id.in_(bindparam("tags", expanding=True)),
)
_PUBLISH_LINKS = (
    update(post_tags)
    .where(post_tags.c.post_id == bindparam("post"))
    .values(is_published=bindparam("published"))
)
# One row per statement, by primary key: on a small table MariaDB runs ``id IN (...)``
# as a scan that locks every row it passes, the new tags of concurrent posts too.
_COUNT_TAG = (
    update(Tag)
    .where(Tag.id == bindparam("tag"))
    .values(post_count=Tag.post_count + bindparam("change"))
)

# What `recount` computes, row by row, from the posts.
_POST_CREATED = select(Post.created_at).where(Post.id == post_tags.c.post_id).scalar_subquery()
_POST_PUBLISHED = select(Post.is_published).where(Post.id == post_tags.c.post_id).scalar_subquery()
_TAG_POSTS = (
    select(func.count())
    .select_from(post_tags)
    .join(Post, Post.id == post_tags.c.post_id)
    .where(post_tags.c.tag_id == Tag.id, Post.is_published == true())
    .scalar_subquery()
)
_AUTHOR_POSTS = (
    select(func.count(Post.id))
    .where(Post.author_id == User.id, Post.is_published == true())
    .scalar_subquery()
)


class PostRepository(Repository[Post]):
    model = Post

    async def tagged(
        self,
        tag: str,
        viewer: Principal | None,
        *where: ColumnElement[bool],
        page: PageRequest,
        options: Sequence[ORMOption] = (),
    ) -> PageResult[Post]:
        """Like `list_and_count` in `NEWEST_FIRST`, of the posts with `tag` that `viewer`
        may see, narrowed by `where`: the tag's links are read newest first off their
        index, and only the posts of the page are looked up. Without `where`, skipping
        and counting read the links alone. (The tag's id is a subquery: a constant for
        the planner.)"""
        tag_id = select(Tag.id).where(Tag.name == tag).scalar_subquery()
        links = (post_tags.c.tag_id == tag_id, linked_visible_to(viewer))
        filters, search = split_search(where)
        posts = self.select(*links, *filters).join(post_tags, post_tags.c.post_id == Post.id)
        counted = posts if where else select(post_tags.c.post_id).where(*links)
        statement = posts.options(*options)
        return await paginate(
            self.session,
            statement,
            ordering=NEWEST_TAGGED_FIRST,
            page=page,
            count=counted,
            search=search,
        )

    async def link(self, post: Post, tag_ids: Iterable[int]) -> None:
        """Give `post` these tags (which it does not have yet)."""
        copied = {
            "post_id": post.id,
            "created_at": post.created_at,
            "is_published": post.is_published,
        }
        rows = [{**copied, "tag_id": tag_id} for tag_id in sorted(tag_ids)]
        if rows:
            await self.session.execute(_LINK, rows)

    async def publish_links(self, post: Post) -> None:
        """Tell the post's links whether it is published (after that changed)."""
        await self.affected(_PUBLISH_LINKS, {"post": post.id, "published": post.is_published})

    async def unlink(self, post: Post, tag_ids: Iterable[int]) -> None:
        if tag_ids := sorted(tag_ids):
            await self.affected(_UNLINK, {"post": post.id, "tags": tag_ids})

    async def recount(self) -> None:
        """Set what every tag link copies of its post, and the published post counts of
        tags and users, from the posts."""
        # Only rows that differ are written: after a seed, none (rewriting 750,000 links
        # and their index took SQLite minutes).
        copied = {"created_at": _POST_CREATED, "is_published": _POST_PUBLISHED}
        differ = or_(*(post_tags.c[name] != value for name, value in copied.items()))
        await self.affected(update(post_tags).where(differ).values(copied))
        await self.affected(
            update(Tag).where(Tag.post_count != _TAG_POSTS).values(post_count=_TAG_POSTS)
        )
        await self.affected(
            update(User)
            .where(User.post_count != _AUTHOR_POSTS)
            .values(post_count=_AUTHOR_POSTS, updated_at=User.updated_at)
        )

    async def author_post_counts(self, *, min_posts: int, page: PageRequest) -> PageResult[Any]:
        """Users that are not deleted with their number of published posts, most first
        (ties: lower id first), off the index of the counts that the blog keeps."""
        statement = select(
            User.id.label("user_id"), User.username, User.post_count.label("post_count")
        ).where(User.deleted_at.is_(None), User.post_count >= min_posts)
        return await paginate(
            self.session, statement, ordering=MOST_POSTS_FIRST, page=page, rows=True
        )


class TagRepository(Repository[Tag]):
    model = Tag

    async def named(self, names: Sequence[str]) -> list[Tag]:
        """The tags with these (normalized) names, created when missing, locked until
        the end of the transaction (their counts change with the post).

        Safe when concurrent requests create the same new tag: the INSERT skips names
        that exist, and the locking read sees rows another transaction just committed
        (MariaDB's REPEATABLE READ snapshot would not). Names are locked in sorted order,
        so that two transactions lock them in the same order; posts that share a tag are
        written one after the other, as orders of one product are.
        """
        if not names:
            return []
        ordered = sorted(set(names))
        await self.add_missing([{"name": name} for name in ordered])
        statement = select(Tag).where(Tag.name.in_(ordered)).order_by(Tag.name)
        # On a small table MariaDB would rather scan the primary key, locking every row
        # it passes, new tags of concurrent posts included (a deadlock with their INSERT).
        # The author's count (UserService) is one row by primary key already.
        statement = statement.with_hint(Tag, "FORCE INDEX (uq_tags_name)", "mysql")
        result = await self.session.execute(
            statement.with_for_update().execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def count_posts(self, tag_ids: Iterable[int], change: int) -> None:
        """Add `change` to the published post count of each of these tags."""
        if change and (tag_ids := sorted(tag_ids)):
            for tag in tag_ids:
                await self.affected(_COUNT_TAG, {"tag": tag, "change": change})

    async def popularity(self, page: PageRequest) -> PageResult[Tag]:
        """Tags of published posts, most used first (ties: by name)."""
        return await self.list_and_count(Tag.post_count > 0, ordering=MOST_USED_FIRST, page=page)


COMMENT_WITH_AUTHOR = (joinedload(Comment.author),)
OLDEST_COMMENTS_FIRST = Ordering("comments", Comment.created_at, Comment.id)


class CommentRepository(Repository[Comment]):
    model = Comment
