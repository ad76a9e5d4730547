"""Who may see and change what: author, other user, admin, anonymous. A draft is 404 to
everyone but its author and admins, whatever they try."""

from dataclasses import dataclass

import httpx
import pytest

from tests.factories import Account, Accounts
from tests.posts.helpers import Blog

ROLES = ["author", "other", "admin", "anonymous"]


@dataclass
class Cast:
    author: Account
    other: Account
    admin: Account

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anonymous" else getattr(self, role).headers


@pytest.fixture
async def cast(accounts: Accounts) -> Cast:
    return Cast(await accounts.user("author"), await accounts.user("other"), await accounts.admin())


@pytest.mark.parametrize(
    ("role", "sees"), [("author", True), ("other", False), ("admin", True), ("anonymous", False)]
)
async def test_drafts_exist_only_for_their_author_and_admins(
    client: httpx.AsyncClient, blog: Blog, cast: Cast, role: str, sees: bool
) -> None:
    draft = await blog.draft(cast.author, title="Secret plans", tags=["secret"])
    headers = cast.headers(role)
    expected = 200 if sees else 404
    assert (await client.get(f"/api/v1/posts/{draft['id']}", headers=headers)).status_code == (
        expected
    )
    comments = await client.get(f"/api/v1/posts/{draft['id']}/comments", headers=headers)
    assert comments.status_code == expected
    listed = await client.get("/api/v1/posts", headers=headers)
    assert (draft["id"] in [item["id"] for item in listed.json()["items"]]) is sees
    # (Search is checked on committed rows, with the other filters: test_posts.)
    tagged = await client.get("/api/v1/posts", params={"tag": "secret"}, headers=headers)
    assert tagged.json()["total"] == (1 if sees else 0)
    # Tags count published posts only: a draft's tags are never shown.
    tags = await client.get("/api/v1/tags", headers=headers)
    assert "secret" not in [tag["name"] for tag in tags.json()["items"]]


@pytest.mark.parametrize("role", ["other", "admin"])
async def test_commenting_on_a_draft_follows_visibility(
    client: httpx.AsyncClient, blog: Blog, cast: Cast, role: str
) -> None:
    draft = await blog.draft(cast.author)
    response = await client.post(
        f"/api/v1/posts/{draft['id']}/comments",
        json={"content": "hi"},
        headers=cast.headers(role),
    )
    assert response.status_code == (201 if role == "admin" else 404)


@pytest.mark.parametrize(
    ("role", "published", "expected"),
    [
        ("author", True, 200),
        ("admin", True, 200),
        ("other", True, 403),
        ("anonymous", True, 401),
        ("author", False, 200),
        ("admin", False, 200),
        ("other", False, 404),
        ("anonymous", False, 401),
    ],
)
async def test_who_may_edit_a_post(
    client: httpx.AsyncClient, blog: Blog, cast: Cast, role: str, published: bool, expected: int
) -> None:
    post = await blog.post(cast.author, title="Original", is_published=published)
    response = await client.patch(
        f"/api/v1/posts/{post['id']}", json={"title": "Changed"}, headers=cast.headers(role)
    )
    assert response.status_code == expected
    now = await client.get(f"/api/v1/posts/{post['id']}", headers=cast.headers("author"))
    assert now.json()["title"] == ("Changed" if expected == 200 else "Original")


@pytest.mark.parametrize(
    ("role", "published", "expected"),
    [
        ("author", True, 204),
        ("admin", True, 204),
        ("other", True, 403),
        ("anonymous", True, 401),
        ("admin", False, 204),
        ("other", False, 404),
    ],
)
async def test_who_may_delete_a_post(
    client: httpx.AsyncClient, blog: Blog, cast: Cast, role: str, published: bool, expected: int
) -> None:
    post = await blog.post(cast.author, is_published=published)
    response = await client.delete(f"/api/v1/posts/{post['id']}", headers=cast.headers(role))
    assert response.status_code == expected
    still_there = await client.get(f"/api/v1/posts/{post['id']}", headers=cast.headers("author"))
    assert still_there.status_code == (404 if expected == 204 else 200)


@pytest.mark.parametrize(
    ("role", "expected"),
    [("commenter", 204), ("author", 204), ("admin", 204), ("other", 403), ("anonymous", 401)],
)
async def test_who_may_delete_a_comment(
    client: httpx.AsyncClient,
    accounts: Accounts,
    blog: Blog,
    cast: Cast,
    role: str,
    expected: int,
) -> None:
    commenter = await accounts.user("commenter")
    post = await blog.post(cast.author)
    comment = await blog.comment(commenter, post["id"])
    headers = commenter.headers if role == "commenter" else cast.headers(role)
    response = await client.delete(f"/api/v1/comments/{comment['id']}", headers=headers)
    assert response.status_code == expected
    remaining = (await client.get(f"/api/v1/posts/{post['id']}/comments")).json()["total"]
    assert remaining == (0 if expected == 204 else 1)


async def test_comments_on_a_hidden_draft_are_404_to_delete(
    client: httpx.AsyncClient, blog: Blog, cast: Cast
) -> None:
    draft = await blog.draft(cast.author)
    comment = await blog.comment(cast.author, draft["id"])
    response = await client.delete(
        f"/api/v1/comments/{comment['id']}", headers=cast.headers("other")
    )
    assert response.status_code == 404
    missing = await client.delete("/api/v1/comments/987654321", headers=cast.headers("admin"))
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
