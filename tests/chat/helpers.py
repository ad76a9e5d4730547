"""Helpers for the chat tests: conversations and messages created through the API."""

from typing import Any

import httpx

from tests.factories import Account


class Chat:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def start(self, owner: Account, title: str = "A chat") -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/conversations", json={"title": title}, headers=owner.headers
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def append(
        self, owner: Account, conversation_id: str, *contents: str, role: str = "user"
    ) -> list[dict[str, Any]]:
        body = {"messages": [{"role": role, "content": content} for content in contents]}
        response = await self.client.post(
            f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=owner.headers
        )
        assert response.status_code == 201, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def read_all(self, owner: Account, conversation_id: str, limit: int = 7) -> list[int]:
        """Every message id, following next_cursor until an empty page."""
        ids: list[int] = []
        params: dict[str, Any] = {"limit": limit}
        while True:
            response = await self.client.get(
                f"/api/v1/conversations/{conversation_id}/messages",
                params=params,
                headers=owner.headers,
            )
            assert response.status_code == 200, response.text
            page = response.json()
            ids += [message["id"] for message in page["items"]]
            if page["next_cursor"] is None:
                return ids
            params["cursor"] = page["next_cursor"]
