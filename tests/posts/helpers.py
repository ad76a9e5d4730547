"""Helpers for the blog tests: posts and comments created through the API."""

from typing import Any

import httpx

from tests.factories import Account


class Blog:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, author: Account, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"title": "A title", "content": "Some content"}
        body.update(fields)
        response = await self.client.post("/api/v1/posts", json=body, headers=author.headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def draft(self, author: Account, **fields: Any) -> dict[str, Any]:
        return await self.post(author, is_published=False, **fields)

    async def comment(self, author: Account, post_id: int, content: str = "Nice") -> dict[str, Any]:
        response = await self.client.post(
            f"/api/v1/posts/{post_id}/comments", json={"content": content}, headers=author.headers
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created
