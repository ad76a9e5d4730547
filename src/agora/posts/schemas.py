"""Request and response bodies for posts, comments, tags and author statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from agora.api.schemas import InputModel, OutputModel, UpdateModel
from agora.posts.models import MAX_TAGS_PER_POST, TAG_MAX_LENGTH, TITLE_MAX_LENGTH
from agora.users.schemas import UserRef

CONTENT_MAX_LENGTH = 100_000
COMMENT_MAX_LENGTH = 10_000
# Bodies in bytes, room for the longest text JSON-escaped.
POST_MAX_BYTES = 1024 * 1024
COMMENT_MAX_BYTES = 256 * 1024
# More than this many entries is refused before normalizing (a DoS guard); after
# trimming, lower-casing and removing duplicates at most MAX_TAGS_PER_POST remain.
RAW_TAGS_MAX = 50


def normalize_tag(name: str) -> str:
    """Tags are compared trimmed and lower-cased: " Python " and "python" are one tag."""
    normalized = name.strip().lower()
    if not 1 <= len(normalized) <= TAG_MAX_LENGTH:
        raise ValueError(f"a tag has 1 to {TAG_MAX_LENGTH} characters")
    if any(not character.isprintable() for character in normalized):
        raise ValueError("a tag cannot contain control characters")
    return normalized


def _distinct_tags(names: list[str]) -> list[str]:
    distinct = list(dict.fromkeys(names))
    if len(distinct) > MAX_TAGS_PER_POST:
        raise ValueError(f"a post has at most {MAX_TAGS_PER_POST} tags")
    return distinct


TagName = Annotated[str, AfterValidator(normalize_tag)]
Tags = Annotated[list[TagName], Field(max_length=RAW_TAGS_MAX), AfterValidator(_distinct_tags)]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX_LENGTH)
]
Content = Annotated[str, StringConstraints(min_length=1, max_length=CONTENT_MAX_LENGTH)]
CommentText = Annotated[str, StringConstraints(min_length=1, max_length=COMMENT_MAX_LENGTH)]


class PostCreate(InputModel):
    title: Title
    content: Content
    tags: Tags = Field(default_factory=list)
    is_published: bool = True


class PostUpdate(UpdateModel):
    """Only the fields sent change; `tags` replaces the whole set."""

    title: Title | None = None
    content: Content | None = None
    tags: Tags | None = None
    is_published: bool | None = None


class PostRead(OutputModel):
    id: int
    title: str
    content: str
    is_published: bool
    created_at: datetime
    updated_at: datetime
    author: UserRef
    tags: list[str] = Field(validation_alias="tag_names")
    comment_count: int


class CommentCreate(InputModel):
    content: CommentText


class CommentRead(OutputModel):
    id: int
    post_id: int
    content: str
    created_at: datetime
    author: UserRef


class PostDetail(PostRead):
    """A post with all its comments, oldest first (page through long threads with
    ``GET /posts/{id}/comments``)."""

    comments: list[CommentRead]


class TagStat(OutputModel):
    name: str
    post_count: int


class AuthorStat(OutputModel):
    user_id: int
    username: str
    post_count: int
