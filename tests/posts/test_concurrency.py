"""Concurrent writers of the blog, with real commits."""

import asyncio

import httpx

from tests.factories import Accounts


async def test_posts_created_at_once_with_the_same_new_tags_all_succeed(
    live_accounts: Accounts, live_client: httpx.AsyncClient
) -> None:
    authors = [await live_accounts.user(f"writer{i}") for i in range(4)]

    async def write(index: int) -> httpx.Response:
        # Overlapping sets, in different orders, all new.
        tags = ["fresh", f"only{index}", "brand-new"][:: 1 if index % 2 else -1]
        return await live_client.post(
            "/api/v1/posts",
            json={"title": f"post {index}", "content": "c", "tags": tags},
            headers=authors[index % len(authors)].headers,
        )

    responses = await asyncio.gather(*(write(index) for index in range(12)))
    assert [response.status_code for response in responses] == [201] * 12
    tags = (await live_client.get("/api/v1/tags", params={"limit": 100})).json()["items"]
    counts = {tag["name"]: tag["post_count"] for tag in tags}
    assert counts["fresh"] == 12
    assert counts["brand-new"] == 12
    assert sum(1 for name in counts if name.startswith("only")) == 12
