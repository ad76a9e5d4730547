"""Deep pages in constant time: every list that grows without bound also takes a cursor,
whose pages are those of the offset walk, and refuses offsets past 10,000."""

import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agora.api.params import MAX_OFFSET
from agora.chat.models import Conversation
from agora.posts.models import Comment, Post, post_tags
from agora.posts.service import PostService
from agora.shop.models import Order, Product
from agora.users.models import User
from tests.factories import Account, Accounts

# Rows share a few instants, so that pages end inside runs of equal sort keys.
MOMENTS = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n) for n in range(3)]
ROWS = 23
LIMIT = 5

Seeder = Callable[[AsyncSession, Account], Awaitable[None]]


async def seed_posts(session: AsyncSession, owner: Account) -> None:
    (tag_id,) = (await PostService(session).named_tags(["deep"])).values()
    for n in range(ROWS):
        post = Post(author_id=owner.id, title=f"p{n}", content="c", created_at=MOMENTS[n % 3])
        session.add(post)
        await session.flush()
        await session.execute(insert(post_tags), [{"post_id": post.id, "tag_id": tag_id}])
    await PostService(session).recount()


async def seed_comments(session: AsyncSession, owner: Account) -> None:
    post = Post(author_id=owner.id, title="commented", content="c")
    session.add(post)
    await session.flush()
    session.add_all(
        Comment(post_id=post.id, author_id=owner.id, content=f"c{n}", created_at=MOMENTS[n % 3])
        for n in range(ROWS)
    )


async def seed_users(session: AsyncSession, owner: Account) -> None:
    session.add_all(
        User(
            email=f"deep{n}@example.com",
            username=f"deep{n}",
            hashed_password="x",
            created_at=MOMENTS[n % 3],
            post_count=n % 4,
        )
        for n in range(ROWS)
    )


async def seed_products(session: AsyncSession, owner: Account) -> None:
    session.add_all(
        Product(
            name=f"thing {n % 4}",
            price_cents=100 * (n % 5),
            stock=1,
            created_at=MOMENTS[n % 3],
        )
        for n in range(ROWS)
    )


async def seed_orders(session: AsyncSession, owner: Account) -> None:
    session.add_all(
        Order(user_id=owner.id, order_number=n + 1, total_cents=100, created_at=MOMENTS[n % 3])
        for n in range(ROWS)
    )


async def seed_conversations(session: AsyncSession, owner: Account) -> None:
    session.add_all(
        Conversation(owner_id=owner.id, title=f"chat {n}", updated_at=MOMENTS[n % 3])
        for n in range(ROWS)
    )


async def seed_tags(session: AsyncSession, owner: Account) -> None:
    """Tag t<n> on n % 4 + 1 of four posts: many tags of equal count."""
    ids = await PostService(session).named_tags([f"t{n}" for n in range(ROWS)])
    for j in range(4):
        post = Post(author_id=owner.id, title=f"p{j}", content="c")
        session.add(post)
        await session.flush()
        links = [{"post_id": post.id, "tag_id": ids[f"t{n}"]} for n in range(ROWS) if n % 4 >= j]
        await session.execute(insert(post_tags), links)
    await PostService(session).recount()


LISTS: dict[str, tuple[str, dict[str, str], Seeder]] = {
    "posts": ("/api/v1/posts", {}, seed_posts),
    "posts by tag": ("/api/v1/posts", {"tag": "deep"}, seed_posts),
    "comments": ("/api/v1/posts/{post}/comments", {}, seed_comments),
    "users": ("/api/v1/users", {}, seed_users),
    "products, newest": ("/api/v1/products", {}, seed_products),
    "products by price": ("/api/v1/products", {"sort": "price"}, seed_products),
    "products by -price": ("/api/v1/products", {"sort": "-price"}, seed_products),
    "products by name": ("/api/v1/products", {"sort": "name"}, seed_products),
    "orders": ("/api/v1/orders", {}, seed_orders),
    "conversations": ("/api/v1/conversations", {}, seed_conversations),
    "tags": ("/api/v1/tags", {}, seed_tags),
    "authors": ("/api/v1/stats/authors", {}, seed_users),
}


async def resolved(client: httpx.AsyncClient, path: str, owner: Account) -> str:
    if "{post}" not in path:
        return path
    posts = (await client.get("/api/v1/posts", headers=owner.headers)).json()["items"]
    return path.format(post=posts[0]["id"])


async def walk_by_cursor(
    client: httpx.AsyncClient, path: str, params: dict[str, str], owner: Account
) -> list[Any]:
    """The whole list: the first (offset) page, then each `next_cursor` in turn."""
    first = await client.get(path, params={**params, "limit": LIMIT}, headers=owner.headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert {"total", "limit", "offset", "next_cursor"} <= set(body)
    items, cursor = list(body["items"]), body["next_cursor"]
    while cursor is not None:
        response = await client.get(
            path, params={**params, "limit": LIMIT, "cursor": cursor}, headers=owner.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        # A cursor page has no total and no offset: it costs no count.
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= LIMIT
        items += page["items"]
        cursor = page["next_cursor"]
    return items


@pytest.mark.parametrize("name", LISTS)
async def test_a_cursor_walk_lists_what_the_offset_walk_lists(
    name: str, client: httpx.AsyncClient, accounts: Accounts, session: AsyncSession
) -> None:
    path, params, seed = LISTS[name]
    owner = await accounts.user()
    await seed(session, owner)
    await session.commit()
    path = await resolved(client, path, owner)
    whole = await client.get(path, params={**params, "limit": 100}, headers=owner.headers)
    expected = whole.json()["items"]
    assert len(expected) >= ROWS  # (users and authors: the owner too)
    assert whole.json()["next_cursor"] is None  # nothing after the last page

    assert await walk_by_cursor(client, path, params, owner) == expected


async def test_a_cursor_page_does_not_shift_when_rows_are_added_in_front(
    client: httpx.AsyncClient, accounts: Accounts, session: AsyncSession
) -> None:
    owner = await accounts.user()
    await seed_posts(session, owner)
    await session.commit()
    first = (await client.get("/api/v1/posts", params={"limit": LIMIT})).json()
    second_by_offset = (
        await client.get("/api/v1/posts", params={"limit": LIMIT, "offset": LIMIT})
    ).json()["items"]
    for n in range(3):
        body = {"title": f"new {n}", "content": "c"}
        assert (await client.post("/api/v1/posts", json=body, headers=owner.headers)).is_success
    cursor = first["next_cursor"]
    after = await client.get("/api/v1/posts", params={"limit": LIMIT, "cursor": cursor})
    assert after.json()["items"] == second_by_offset
    shifted = await client.get("/api/v1/posts", params={"limit": LIMIT, "offset": LIMIT})
    assert shifted.json()["items"] != second_by_offset  # what an offset walk would do


@pytest.mark.parametrize(
    "path", ["/api/v1/posts", "/api/v1/products", "/api/v1/tags", "/api/v1/stats/authors"]
)
async def test_offsets_past_the_limit_point_to_the_cursor(
    path: str, client: httpx.AsyncClient
) -> None:
    assert (await client.get(path, params={"offset": MAX_OFFSET})).status_code == 200
    response = await client.get(path, params={"offset": MAX_OFFSET + 1})
    assert response.status_code == 422
    assert response.json()["code"] == "offset_too_large"
    assert "cursor" in response.json()["detail"]


def forged(*contents: Any) -> str:
    text = "v2:" + json.dumps(list(contents))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def test_a_cursor_is_refused_by_any_other_list_or_sort(
    client: httpx.AsyncClient, accounts: Accounts, session: AsyncSession
) -> None:
    owner = await accounts.user()
    await seed_products(session, owner)
    await session.commit()
    by_price = await client.get("/api/v1/products", params={"sort": "price", "limit": 2})
    cursor = by_price.json()["next_cursor"]
    assert cursor is not None
    for path, params in [
        ("/api/v1/products", {"sort": "name"}),
        ("/api/v1/products", {}),
        ("/api/v1/posts", {}),
        ("/api/v1/users", {}),
    ]:
        response = await client.get(
            path, params={**params, "cursor": cursor}, headers=owner.headers
        )
        assert response.status_code == 422, (path, params)
        assert response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"v1:12").decode(),  # a ledger's cursor
        forged("posts"),
        forged("posts", "2026-01-01T00:00:00+00:00"),
        forged("posts", "2026-01-01T00:00:00", 5),  # naive
        forged("posts", "0001-01-01T00:00:00+01:00", 5),  # before year 1 in UTC
        forged("posts", "2026-01-01T00:00:00+00:00", "5"),
        forged("posts", "2026-01-01T00:00:00+00:00", 2**64),
        forged("posts", "2026-01-01T00:00:00+00:00", True),
        forged("posts", 17, 5),
        forged("posts", "2026-01-01T00:00:00+00:00", 5, 6),
        forged(["posts"], 1, 2),
        forged("users", "2026-01-01T00:00:00+00:00", 5),
        base64.urlsafe_b64encode(b"v2:{not json").decode(),
    ],
)
async def test_a_malformed_cursor_is_422_never_500(cursor: str, client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/posts", params={"cursor": cursor})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_cursor"


async def test_a_text_key_with_nul_or_a_cursor_with_an_offset_is_422(
    client: httpx.AsyncClient,
) -> None:
    nul = forged("products:name", "a\x00b", 1)
    response = await client.get("/api/v1/products", params={"sort": "name", "cursor": nul})
    assert (response.status_code, response.json()["code"]) == (422, "invalid_cursor")
    valid = forged("posts", "2026-01-01T00:00:00+00:00", 5)
    assert (await client.get("/api/v1/posts", params={"cursor": valid})).status_code == 200
    both = await client.get("/api/v1/posts", params={"cursor": valid, "offset": 3})
    assert (both.status_code, both.json()["code"]) == (422, "invalid_cursor")
