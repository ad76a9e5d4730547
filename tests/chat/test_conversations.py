"""Conversations: start, list, read, rename, delete; and who may touch them."""

import uuid

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.chat.models import Message
from tests.chat.helpers import Chat
from tests.factories import Accounts

CONVERSATION_FIELDS = {"id", "title", "owner", "created_at", "updated_at", "message_count"}


async def test_start_returns_a_uuid_conversation_owned_by_the_caller(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user("ada")
    response = await client.post(
        "/api/v1/conversations", json={"title": "  Trip plans "}, headers=ada.headers
    )
    assert response.status_code == 201
    conversation = response.json()
    assert set(conversation) == CONVERSATION_FIELDS
    assert uuid.UUID(conversation["id"]).version == 4
    assert conversation["title"] == "Trip plans"
    assert conversation["owner"] == {"id": ada.id, "username": "ada"}
    assert conversation["message_count"] == 0


@pytest.mark.parametrize(
    "body", [{}, {"title": ""}, {"title": "x" * 201}, {"title": "t", "owner_id": 1}, {"title": 5}]
)
async def test_invalid_conversations_are_422(
    client: httpx.AsyncClient, accounts: Accounts, body: dict[str, object]
) -> None:
    ada = await accounts.user()
    response = await client.post("/api/v1/conversations", json=body, headers=ada.headers)
    assert response.status_code == 422


async def test_the_list_is_the_callers_most_recently_active_first(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    first = await chat.start(ada, "first")
    await chat.start(ada, "second")
    await chat.start(bob, "bob's")
    await chat.append(ada, first["id"], "back to the first one")
    listed = (await client.get("/api/v1/conversations", headers=ada.headers)).json()
    assert [c["title"] for c in listed["items"]] == ["first", "second"]
    assert listed["items"][0]["message_count"] == 1
    assert listed["total"] == 2
    page = (
        await client.get(
            "/api/v1/conversations", params={"limit": 1, "offset": 1}, headers=ada.headers
        )
    ).json()
    assert ([c["title"] for c in page["items"]], page["total"]) == (["second"], 2)


async def test_read_has_the_count_and_the_20_latest_messages_oldest_first(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat
) -> None:
    ada = await accounts.user()
    conversation = await chat.start(ada)
    await chat.append(ada, conversation["id"], *[f"m{i}" for i in range(25)])
    detail = (
        await client.get(f"/api/v1/conversations/{conversation['id']}", headers=ada.headers)
    ).json()
    assert detail["message_count"] == 25
    assert [m["content"] for m in detail["messages"]] == [f"m{i}" for i in range(5, 25)]
    assert detail["updated_at"] > conversation["updated_at"]


async def test_rename_changes_only_the_title(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat
) -> None:
    ada = await accounts.user()
    conversation = await chat.start(ada, "old")
    path = f"/api/v1/conversations/{conversation['id']}"
    renamed = await client.patch(path, json={"title": "new"}, headers=ada.headers)
    assert renamed.status_code == 200
    assert renamed.json()["title"] == "new"
    assert renamed.json()["created_at"] == conversation["created_at"]
    for body in ({"title": None}, {"title": ""}, {"message_count": 3}):
        assert (await client.patch(path, json=body, headers=ada.headers)).status_code == 422


async def test_delete_takes_the_messages_along(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat, session: AsyncSession
) -> None:
    ada = await accounts.user()
    gone, kept = await chat.start(ada), await chat.start(ada)
    await chat.append(ada, gone["id"], "a", "b")
    await chat.append(ada, kept["id"], "c")
    response = await client.delete(f"/api/v1/conversations/{gone['id']}", headers=ada.headers)
    assert (response.status_code, response.content) == (204, b"")
    path = f"/api/v1/conversations/{gone['id']}"
    assert (await client.get(path, headers=ada.headers)).status_code == 404
    remaining = (await session.execute(select(func.count()).select_from(Message))).scalar_one()
    assert remaining == 1


async def test_invalid_ids_are_422(client: httpx.AsyncClient, accounts: Accounts) -> None:
    ada = await accounts.user()
    for bad in ("123", "not-a-uuid", "x" * 100):
        response = await client.get(f"/api/v1/conversations/{bad}", headers=ada.headers)
        assert response.status_code == 422


ENDPOINTS = [
    ("GET", ""),
    ("PATCH", ""),
    ("DELETE", ""),
    ("POST", "/messages"),
    ("GET", "/messages"),
    ("POST", "/transfer"),
    ("GET", "/export"),
]


def body_for(method: str, suffix: str, recipient: int) -> dict[str, object] | None:
    if suffix == "/messages" and method == "POST":
        return {"messages": [{"role": "user", "content": "intrusion"}]}
    if suffix == "/transfer":
        return {"to_user_id": recipient}
    return {"title": "hijacked"} if method == "PATCH" else None


@pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
async def test_another_users_conversation_is_404_everywhere(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat, method: str, suffix: str
) -> None:
    owner, intruder, admin = await accounts.user(), await accounts.user(), await accounts.admin()
    conversation = await chat.start(owner, "private")
    await chat.append(owner, conversation["id"], "secret")
    path = f"/api/v1/conversations/{conversation['id']}{suffix}"
    for someone in (intruder, admin):
        response = await client.request(
            method, path, json=body_for(method, suffix, someone.id), headers=someone.headers
        )
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    missing = f"/api/v1/conversations/{uuid.uuid4()}{suffix}"
    response = await client.request(
        method, missing, json=body_for(method, suffix, intruder.id), headers=owner.headers
    )
    assert response.status_code == 404
    anonymous = await client.request(method, path, json=body_for(method, suffix, owner.id))
    assert anonymous.status_code == 401
    detail = (
        await client.get(f"/api/v1/conversations/{conversation['id']}", headers=owner.headers)
    ).json()
    assert (detail["title"], detail["message_count"], detail["owner"]["id"]) == (
        "private",
        1,
        owner.id,
    )
