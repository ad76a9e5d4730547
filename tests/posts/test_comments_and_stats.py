"""Comment lists, tag popularity and author statistics."""

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agora.posts.models import Comment
from tests.factories import Accounts
from tests.posts.helpers import Blog


async def test_comments_are_listed_oldest_first_with_ties_broken_by_id(
    client: httpx.AsyncClient, accounts: Accounts, blog: Blog, session: AsyncSession
) -> None:
    ada = await accounts.user("ada")
    post = await blog.post(ada)
    moment = datetime(2020, 1, 1, tzinfo=UTC)
    session.add_all(
        Comment(post_id=post["id"], author_id=ada.id, content=f"tie {i}", created_at=moment)
        for i in range(3)
    )
    await session.commit()
    later = await blog.comment(ada, post["id"], "later")
    listed = (await client.get(f"/api/v1/posts/{post['id']}/comments")).json()
    assert [c["content"] for c in listed["items"]] == ["tie 0", "tie 1", "tie 2", "later"]
    assert listed["total"] == 4
    assert listed["items"][-1] == later
    page = (
        await client.get(f"/api/v1/posts/{post['id']}/comments", params={"limit": 2, "offset": 2})
    ).json()
    assert [c["content"] for c in page["items"]] == ["tie 2", "later"]


@pytest.mark.parametrize("content", ["", "x" * 10_001, "nul\x00"])
async def test_invalid_comments_are_422(
    client: httpx.AsyncClient, accounts: Accounts, blog: Blog, content: str
) -> None:
    ada = await accounts.user()
    post = await blog.post(ada)
    response = await client.post(
        f"/api/v1/posts/{post['id']}/comments", json={"content": content}, headers=ada.headers
    )
    assert response.status_code == 422


async def test_commenting_needs_an_account_and_an_existing_post(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user()
    anonymous = await client.post("/api/v1/posts/1/comments", json={"content": "hi"})
    assert anonymous.status_code == 401
    missing = await client.post(
        "/api/v1/posts/987654321/comments", json={"content": "hi"}, headers=ada.headers
    )
    assert missing.status_code == 404


async def test_tags_are_ranked_by_published_posts(
    client: httpx.AsyncClient, accounts: Accounts, blog: Blog
) -> None:
    ada = await accounts.user()
    await blog.post(ada, tags=["python", "sql"])
    await blog.post(ada, tags=["python", "async"])
    await blog.post(ada, tags=["python", "sql", "async"])
    await blog.draft(ada, tags=["sql", "hidden"])
    listed = (await client.get("/api/v1/tags")).json()
    assert listed["items"] == [
        {"name": "python", "post_count": 3},
        {"name": "async", "post_count": 2},
        {"name": "sql", "post_count": 2},
    ]
    assert listed["total"] == 3
    page = (await client.get("/api/v1/tags", params={"limit": 1, "offset": 2})).json()
    assert (page["items"], page["total"]) == ([{"name": "sql", "post_count": 2}], 3)


async def test_author_statistics(client: httpx.AsyncClient, accounts: Accounts, blog: Blog) -> None:
    ada, bob, cyd = (
        await accounts.user("ada"),
        await accounts.user("bob"),
        await accounts.user("cyd"),
    )
    gone = await accounts.user("gone")
    for _ in range(2):
        await blog.post(bob)
        await blog.post(ada)
    await blog.post(cyd)
    await blog.draft(cyd)
    await blog.post(gone)
    await client.delete(f"/api/v1/users/{gone.id}", headers=gone.headers)

    everyone = (await client.get("/api/v1/stats/authors")).json()
    # ada and bob tie on 2: lower id first. Drafts do not count; deleted users are out.
    assert everyone["items"] == [
        {"user_id": ada.id, "username": "ada", "post_count": 2},
        {"user_id": bob.id, "username": "bob", "post_count": 2},
        {"user_id": cyd.id, "username": "cyd", "post_count": 1},
    ]
    silent = await accounts.user("silent")
    with_zero = (await client.get("/api/v1/stats/authors")).json()
    assert with_zero["items"][-1] == {"user_id": silent.id, "username": "silent", "post_count": 0}
    assert with_zero["total"] == 4
    prolific = (await client.get("/api/v1/stats/authors", params={"min_posts": 2})).json()
    assert [item["username"] for item in prolific["items"]] == ["ada", "bob"]
    assert prolific["total"] == 2
    invalid = await client.get("/api/v1/stats/authors", params={"min_posts": -1})
    assert invalid.status_code == 422
