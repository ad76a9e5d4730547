"""Creating, reading, listing, changing and deleting posts."""

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.posts.models import Comment, Post, post_tags
from tests.factories import Account, Accounts
from tests.posts.helpers import Blog

POST_FIELDS = {
    "id",
    "title",
    "content",
    "is_published",
    "created_at",
    "updated_at",
    "author",
    "tags",
    "comment_count",
}


async def test_create_returns_the_post_with_normalized_tags(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user("ada")
    response = await client.post(
        "/api/v1/posts",
        json={
            "title": "  Hello  ",
            "content": "First post",
            "tags": [" Python ", "python", "SQL", "  sql", "Café"],
        },
        headers=ada.headers,
    )
    assert response.status_code == 201
    post = response.json()
    assert set(post) == POST_FIELDS
    assert post["title"] == "Hello"
    assert post["tags"] == ["café", "python", "sql"]
    assert post["author"] == {"id": ada.id, "username": "ada"}
    assert post["is_published"] is True
    assert post["comment_count"] == 0
    assert post["created_at"].endswith("Z")


async def test_anonymous_clients_cannot_post(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/posts", json={"title": "t", "content": "c"})
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x" * 201, "content": "c"}, "title"),
        ({"title": "   ", "content": "c"}, "title"),
        ({"title": "t", "content": ""}, "content"),
        ({"title": "t"}, "content"),
        ({"title": "t", "content": "c", "tags": [f"tag{i}" for i in range(11)]}, "tags"),
        ({"title": "t", "content": "c", "tags": ["x" * 41]}, 0),
        ({"title": "t", "content": "c", "tags": ["   "]}, 0),
        ({"title": "t", "content": "c", "tags": ["new\nline"]}, 0),
        ({"title": "t", "content": "c", "tags": "python"}, "tags"),
        ({"title": "t", "content": "nul\x00"}, "content"),
        ({"title": "t", "content": "c", "author_id": 1}, "author_id"),
        ({"title": "t", "content": "c", "comment_count": 5}, "comment_count"),
    ],
)
async def test_invalid_posts_are_422_and_store_nothing(
    client: httpx.AsyncClient,
    accounts: Accounts,
    session: AsyncSession,
    body: dict[str, object],
    field: object,
) -> None:
    ada = await accounts.user()
    response = await client.post("/api/v1/posts", json=body, headers=ada.headers)
    assert response.status_code == 422
    assert field in {error["loc"][-1] for error in response.json()["detail"]}
    assert (await session.execute(select(func.count()).select_from(Post))).scalar_one() == 0


async def test_ten_tags_are_fine_and_duplicates_do_not_count(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user()
    tags = [f"tag{i}" for i in range(10)] + ["TAG0", " tag1 "]
    response = await client.post(
        "/api/v1/posts", json={"title": "t", "content": "c", "tags": tags}, headers=ada.headers
    )
    assert response.status_code == 201
    assert len(response.json()["tags"]) == 10


async def test_read_returns_comments_oldest_first_with_their_authors(
    client: httpx.AsyncClient, accounts: Accounts, blog: Blog
) -> None:
    ada, bob = await accounts.user("ada"), await accounts.user("bob")
    post = await blog.post(ada, tags=["b", "a"])
    first = await blog.comment(bob, post["id"], "first")
    second = await blog.comment(ada, post["id"], "second")
    response = await client.get(f"/api/v1/posts/{post['id']}")
    assert response.status_code == 200
    detail = response.json()
    assert detail["tags"] == ["a", "b"]
    assert detail["comment_count"] == 2
    assert [c["id"] for c in detail["comments"]] == [first["id"], second["id"]]
    assert detail["comments"][0] == {
        "id": first["id"],
        "post_id": post["id"],
        "content": "first",
        "created_at": first["created_at"],
        "author": {"id": bob.id, "username": "bob"},
    }


async def test_missing_posts_are_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/posts/987654321")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


async def test_the_list_is_newest_first_with_ties_broken_by_id(
    client: httpx.AsyncClient, accounts: Accounts, session: AsyncSession
) -> None:
    ada = await accounts.user()
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    session.add_all(
        Post(author_id=ada.id, title=f"tie {i}", content="c", created_at=moment) for i in range(3)
    )
    await session.commit()
    await client.post("/api/v1/posts", json={"title": "older", "content": "c"}, headers=ada.headers)
    listed = (await client.get("/api/v1/posts")).json()
    assert [item["title"] for item in listed["items"]] == ["tie 2", "tie 1", "tie 0", "older"]
    assert listed["total"] == 4
    page = (await client.get("/api/v1/posts", params={"limit": 2, "offset": 1})).json()
    assert [item["title"] for item in page["items"]] == ["tie 1", "tie 0"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"tag": "x" * 41}, {"q": ""}]
)
async def test_list_parameters_are_validated(
    client: httpx.AsyncClient, params: dict[str, object]
) -> None:
    assert (await client.get("/api/v1/posts", params=params)).status_code == 422


async def test_filters_by_author_tag_text_and_published(
    live_client: httpx.AsyncClient, live_accounts: Accounts, dialect: str
) -> None:
    # Searched rows are committed: MariaDB's FULLTEXT index sees no other.
    client, accounts, blog = live_client, live_accounts, Blog(live_client)
    ada, bob = await accounts.user("ada"), await accounts.user("bob")
    await blog.post(ada, title="SQL tips", tags=["sql"])
    await blog.post(ada, title="Cooking", content="100% butter", tags=["food"])
    await blog.post(bob, title="More SQL", content="joins_and_more", tags=["SQL", "db"])
    # (Its content matches too: a search must not reach past visibility through it.)
    await blog.draft(ada, title="Draft about sql", content="sql inside", tags=["sql"])

    async def titles(**params: object) -> list[str]:
        response = await client.get("/api/v1/posts", params=params, headers=ada.headers)
        return sorted(item["title"] for item in response.json()["items"])

    assert await titles(author="ADA") == ["Cooking", "Draft about sql", "SQL tips"]
    assert await titles(author="nobody") == []
    assert await titles(tag=" SQL ") == ["Draft about sql", "More SQL", "SQL tips"]
    assert await titles(q="sql") == ["Draft about sql", "More SQL", "SQL tips"]
    anonymous = await client.get("/api/v1/posts", params={"q": "sql"})
    assert sorted(item["title"] for item in anonymous.json()["items"]) == ["More SQL", "SQL tips"]
    assert await titles(q="%") == ["Cooking"]
    assert await titles(q="joins_a") == ["More SQL"]
    # MariaDB's FULLTEXT index finds text only where it begins a word (agora.db.search).
    assert await titles(q="s_and") == ([] if dialect == "mariadb" else ["More SQL"])
    # As wildcards these would match "joins_and_more"; as literals they match nothing.
    assert await titles(q="jo_ns") == []
    assert await titles(q="ins%more") == []
    assert await titles(published="false") == ["Draft about sql"]
    assert await titles(published="true", tag="sql") == ["More SQL", "SQL tips"]


async def test_a_tag_lists_drafts_to_their_author_only_and_follows_publishing(
    client: httpx.AsyncClient, accounts: Accounts, blog: Blog
) -> None:
    ada, bob, root = await accounts.user(), await accounts.user(), await accounts.admin()
    draft = await blog.draft(ada, title="Soon", tags=["news"])
    await blog.post(bob, title="Out", tags=["news"])

    async def titles(viewer: Account | None) -> list[str]:
        headers = {} if viewer is None else viewer.headers
        response = await client.get("/api/v1/posts", params={"tag": "news"}, headers=headers)
        assert response.json()["total"] == len(response.json()["items"])
        return [item["title"] for item in response.json()["items"]]

    assert await titles(None) == ["Out"]
    assert await titles(bob) == ["Out"]
    assert await titles(ada) == ["Out", "Soon"]
    assert await titles(root) == ["Out", "Soon"]
    published = {"is_published": True}
    url = f"/api/v1/posts/{draft['id']}"
    assert (await client.patch(url, json=published, headers=ada.headers)).status_code == 200
    assert await titles(None) == ["Out", "Soon"]
    unpublished = {"is_published": False}
    assert (await client.patch(url, json=unpublished, headers=ada.headers)).status_code == 200
    assert await titles(bob) == ["Out"]


async def test_patch_changes_only_what_is_sent_and_replaces_tags(
    client: httpx.AsyncClient, accounts: Accounts, blog: Blog
) -> None:
    ada = await accounts.user()
    post = await blog.post(ada, title="Title", content="Body", tags=["a", "b"])
    response = await client.patch(
        f"/api/v1/posts/{post['id']}", json={"tags": ["C", "b"]}, headers=ada.headers
    )
    assert response.status_code == 200
    changed = response.json()
    assert changed["tags"] == ["b", "c"]
    assert (changed["title"], changed["content"]) == ("Title", "Body")
    assert changed["updated_at"] > post["updated_at"]
    response = await client.patch(
        f"/api/v1/posts/{post['id']}",
        json={"title": "New", "is_published": False},
        headers=ada.headers,
    )
    assert (response.json()["title"], response.json()["is_published"]) == ("New", False)
    assert response.json()["tags"] == ["b", "c"]
    cleared = await client.patch(
        f"/api/v1/posts/{post['id']}", json={"tags": []}, headers=ada.headers
    )
    assert cleared.json()["tags"] == []


@pytest.mark.parametrize(
    "body", [{"title": None}, {"content": ""}, {"tags": ["x"] * 0 + ["y" * 41]}, {"author": 3}]
)
async def test_invalid_patches_are_422(
    client: httpx.AsyncClient, accounts: Accounts, blog: Blog, body: dict[str, object]
) -> None:
    ada = await accounts.user()
    post = await blog.post(ada)
    response = await client.patch(f"/api/v1/posts/{post['id']}", json=body, headers=ada.headers)
    assert response.status_code == 422


async def test_deleting_a_post_deletes_its_comments_and_tag_links(
    client: httpx.AsyncClient, accounts: Accounts, blog: Blog, session: AsyncSession
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    post = await blog.post(ada, tags=["kept"])
    other = await blog.post(ada, tags=["kept"])
    await blog.comment(bob, post["id"])
    await blog.comment(bob, other["id"])
    response = await client.delete(f"/api/v1/posts/{post['id']}", headers=ada.headers)
    assert (response.status_code, response.content) == (204, b"")
    assert (await client.get(f"/api/v1/posts/{post['id']}")).status_code == 404

    async def count(statement: object) -> int:
        return (await session.execute(statement)).scalar_one()  # type: ignore[call-overload]

    assert await count(select(func.count()).where(Comment.post_id == post["id"])) == 0
    assert await count(select(func.count()).where(post_tags.c.post_id == post["id"])) == 0
    assert await count(select(func.count()).where(Comment.post_id == other["id"])) == 1
    assert (await client.get(f"/api/v1/posts/{other['id']}")).json()["tags"] == ["kept"]


async def test_posts_of_deleted_users_stay(
    client: httpx.AsyncClient, accounts: Accounts, blog: Blog
) -> None:
    ada = await accounts.user("ada")
    post = await blog.post(ada)
    await client.delete(f"/api/v1/users/{ada.id}", headers=ada.headers)
    response = await client.get(f"/api/v1/posts/{post['id']}")
    assert response.status_code == 200
    assert response.json()["author"] == {"id": ada.id, "username": "ada"}
