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


async def test_kept_counts_match_the_posts_after_concurrent_edits(
    live_accounts: Accounts, live_client: httpx.AsyncClient
) -> None:
    authors = [await live_accounts.user(f"editor{i}") for i in range(3)]
    posts = []
    for index in range(9):
        response = await live_client.post(
            "/api/v1/posts",
            json={"title": f"p{index}", "content": "c", "tags": ["hot", f"t{index % 3}"]},
            headers=authors[index % 3].headers,
        )
        posts.append((response.json()["id"], authors[index % 3]))

    async def edit(index: int) -> httpx.Response:
        post_id, author = posts[index]
        url, headers = f"/api/v1/posts/{post_id}", author.headers
        if index % 3 == 0:
            return await live_client.delete(url, headers=headers)
        changes = (
            {"tags": ["hot", "cold", f"t{(index + 1) % 3}"]}
            if index % 3 == 1
            else {"is_published": False, "tags": ["cold"]}
        )
        return await live_client.patch(url, json=changes, headers=headers)

    responses = await asyncio.gather(*(edit(index) for index in range(len(posts))))
    assert all(response.is_success for response in responses), [r.text for r in responses]

    published = (await live_client.get("/api/v1/posts", params={"limit": 100})).json()["items"]
    expected_tags: dict[str, int] = {}
    expected_authors: dict[int, int] = {}
    for post in published:
        expected_authors[post["author"]["id"]] = expected_authors.get(post["author"]["id"], 0) + 1
        for name in post["tags"]:
            expected_tags[name] = expected_tags.get(name, 0) + 1
    tags = (await live_client.get("/api/v1/tags", params={"limit": 100})).json()["items"]
    assert {tag["name"]: tag["post_count"] for tag in tags} == expected_tags
    stats = (await live_client.get("/api/v1/stats/authors", params={"limit": 100})).json()
    counts = {row["user_id"]: row["post_count"] for row in stats["items"]}
    assert {author.id: counts[author.id] for author in authors} == {
        author.id: expected_authors.get(author.id, 0) for author in authors
    }
