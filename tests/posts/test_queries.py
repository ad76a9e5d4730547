"""The blog's query patterns: no N+1, statement counts that do not grow with the data."""

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agora.posts.models import Comment, Post, post_tags
from agora.posts.service import PostService
from tests.databases import CountStatements
from tests.factories import Accounts


async def seed(session: AsyncSession, author_id: int, posts: int, comments_each: int) -> None:
    """Posts written as rows, like a bulk load, then recounted as after one."""
    named = await PostService(session).named_tags([f"seed{i}" for i in range(3)])
    tags = [named[f"seed{i}"] for i in range(3)]
    for index in range(posts):
        post = Post(author_id=author_id, title=f"p{index}", content="c")
        post.comments = [
            Comment(author_id=author_id, content=f"c{n}") for n in range(comments_each)
        ]
        session.add(post)
        await session.flush()
        links = [{"post_id": post.id, "tag_id": tag_id} for tag_id in tags[: index % 4]]
        if links:
            await session.execute(insert(post_tags), links)
    await PostService(session).recount()
    await session.commit()


async def test_the_post_list_costs_the_same_for_1_and_50_posts(
    client: httpx.AsyncClient,
    accounts: Accounts,
    session: AsyncSession,
    count_statements: CountStatements,
    dialect: str,
) -> None:
    ada = await accounts.user()
    await seed(session, ada.id, posts=60, comments_each=2)
    counts = {}
    for limit in (1, 50):
        with count_statements() as counter:
            response = await client.get(
                "/api/v1/posts", params={"limit": limit}, headers=ada.headers
            )
        items = response.json()["items"]
        assert len(items) == limit
        assert all(item["comment_count"] == 2 for item in items)
        counts[limit] = counter.count
    assert counts[1] == counts[50]
    # The caller; posts with authors and comment counts; their tags; the total (the
    # planner's estimate first, where there is a planner, then a bounded count).
    assert counts[50] == (4 if dialect == "sqlite" else 5)


async def test_a_post_with_many_comments_costs_the_same_as_with_one(
    client: httpx.AsyncClient,
    accounts: Accounts,
    session: AsyncSession,
    count_statements: CountStatements,
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await seed(session, ada.id, posts=1, comments_each=1)
    await seed(session, bob.id, posts=1, comments_each=40)
    listed = (await client.get("/api/v1/posts", params={"limit": 2})).json()["items"]
    counts = []
    for item in listed:
        with count_statements() as counter:
            response = await client.get(f"/api/v1/posts/{item['id']}")
        assert len(response.json()["comments"]) == item["comment_count"]
        counts.append(counter.count)
    # The post with author and count; its tags; its comments with their authors.
    assert counts == [3, 3]


async def test_tags_and_author_stats_read_kept_counts_in_one_query(
    client: httpx.AsyncClient,
    accounts: Accounts,
    session: AsyncSession,
    count_statements: CountStatements,
) -> None:
    ada = await accounts.user()
    await seed(session, ada.id, posts=30, comments_each=0)
    for path in ("/api/v1/tags", "/api/v1/stats/authors"):
        with count_statements() as counter:
            response = await client.get(path)
        assert response.status_code == 200
        # A short first page proves its own total: no COUNT needed; and no aggregate
        # over the posts, whose counts are kept beside the tags and users.
        assert counter.count == 1, counter.statements
        assert "GROUP BY" not in counter.statements[0].upper()
        assert "POSTS" not in counter.statements[0].upper()
    tags = {
        item["name"]: item["post_count"]
        for item in (await client.get("/api/v1/tags")).json()["items"]
    }
    # Post i has the first i % 4 tags: seed0 on 22 of 30, seed1 on 14, seed2 on 7.
    assert tags == {"seed0": 22, "seed1": 14, "seed2": 7}
    authors = (await client.get("/api/v1/stats/authors")).json()["items"]
    assert {"user_id": ada.id, "username": ada.username, "post_count": 30} in authors
