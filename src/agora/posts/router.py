"""HTTP endpoints of the blog: /posts, /comments, /tags, /stats/authors."""

from typing import Annotated

from fastapi import Depends, Query, Response, status

from agora.api.dependencies import SessionDep
from agora.api.params import Pagination, PathId, SearchText
from agora.api.routing import api_router
from agora.api.schemas import CursorPage, Page, not_found
from agora.api.security import CurrentUser, OptionalUser
from agora.posts.repository import PostFilter
from agora.posts.schemas import (
    COMMENT_MAX_BYTES,
    POST_MAX_BYTES,
    AuthorStat,
    CommentCreate,
    CommentRead,
    PostCreate,
    PostDetail,
    PostRead,
    PostUpdate,
    TagName,
    TagStat,
)
from agora.posts.service import PostService
from agora.users.schemas import USERNAME_MAX_LENGTH

router = api_router(tags=["blog"])


async def get_post_service(session: SessionDep) -> PostService:
    return PostService(session)


PostServiceDep = Annotated[PostService, Depends(get_post_service)]
NOT_FOUND = not_found("missing, or a draft the caller may not see")


@router.post(
    "/posts",
    status_code=status.HTTP_201_CREATED,
    response_model=PostRead,
    max_body_size=POST_MAX_BYTES,
)
async def create_post(data: PostCreate, author: CurrentUser, posts: PostServiceDep) -> PostRead:
    """Tags are trimmed, lower-cased and de-duplicated; at most 10."""
    return await posts.create(author, data)


@router.get("/posts", response_model=Page[PostRead] | CursorPage[PostRead])
async def list_posts(
    viewer: OptionalUser,
    posts: PostServiceDep,
    pagination: Pagination,
    author: Annotated[
        str | None,
        Query(min_length=1, max_length=USERNAME_MAX_LENGTH, description="a username"),
    ] = None,
    tag: Annotated[TagName | None, Query()] = None,
    q: SearchText = None,
    published: Annotated[
        bool | None, Query(description="drafts are listed for their author and admins only")
    ] = None,
) -> Page[PostRead] | CursorPage[PostRead]:
    """Newest first. Without `published`: every post the caller may see (published ones,
    and its own drafts; all drafts for admins)."""
    filters = PostFilter(
        author=None if author is None else author.lower(), tag=tag, text=q, published=published
    )
    result = await posts.search(viewer, filters, pagination.request)
    return pagination.listing(result, Page[PostRead], CursorPage[PostRead])


@router.get("/posts/{post_id}", response_model=PostDetail, responses=NOT_FOUND)
async def read_post(post_id: PathId, viewer: OptionalUser, posts: PostServiceDep) -> PostDetail:
    """The post with its comments, each with its author, oldest first."""
    return await posts.get(viewer, post_id)


@router.patch(
    "/posts/{post_id}", response_model=PostRead, responses=NOT_FOUND, max_body_size=POST_MAX_BYTES
)
async def update_post(
    post_id: PathId, data: PostUpdate, actor: CurrentUser, posts: PostServiceDep
) -> PostRead:
    """Author or admin. Only the fields sent change; `tags` replaces the set."""
    return await posts.update(actor, post_id, data)


@router.delete("/posts/{post_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_post(post_id: PathId, actor: CurrentUser, posts: PostServiceDep) -> Response:
    """Author or admin; the post's comments go with it."""
    await posts.delete(actor, post_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/posts/{post_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentRead,
    responses=NOT_FOUND,
    max_body_size=COMMENT_MAX_BYTES,
)
async def create_comment(
    post_id: PathId, data: CommentCreate, author: CurrentUser, posts: PostServiceDep
) -> CommentRead:
    return await posts.comment(author, post_id, data)


@router.get(
    "/posts/{post_id}/comments",
    response_model=Page[CommentRead] | CursorPage[CommentRead],
    responses=NOT_FOUND,
)
async def list_comments(
    post_id: PathId, viewer: OptionalUser, posts: PostServiceDep, pagination: Pagination
) -> Page[CommentRead] | CursorPage[CommentRead]:
    """Oldest first."""
    result = await posts.comments_of(viewer, post_id, pagination.request)
    return pagination.listing(result, Page[CommentRead], CursorPage[CommentRead])


@router.delete(
    "/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND
)
async def delete_comment(comment_id: PathId, actor: CurrentUser, posts: PostServiceDep) -> Response:
    """The comment's author, the post's author, or an admin."""
    await posts.delete_comment(actor, comment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/tags", response_model=Page[TagStat] | CursorPage[TagStat])
async def list_tags(
    posts: PostServiceDep, pagination: Pagination
) -> Page[TagStat] | CursorPage[TagStat]:
    """Tags of published posts, most used first (ties by name). The counts are kept in
    the transactions that publish, tag, untag and delete posts: always current."""
    result = await posts.tag_popularity(pagination.request)
    return pagination.listing(result, Page[TagStat], CursorPage[TagStat])


@router.get("/stats/authors", response_model=Page[AuthorStat] | CursorPage[AuthorStat])
async def author_stats(
    posts: PostServiceDep,
    pagination: Pagination,
    min_posts: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[AuthorStat] | CursorPage[AuthorStat]:
    """Users that are not deleted with their number of published posts, most first
    (ties: lower id first); with `min_posts` 0, users who published nothing appear too.
    The counts are kept with the posts' writes, like those of `/tags`."""
    result = await posts.author_post_counts(min_posts=min_posts, page=pagination.request)
    return pagination.listing(result, Page[AuthorStat], CursorPage[AuthorStat])
