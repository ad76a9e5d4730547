"""Handing a conversation to another user."""

import asyncio

import httpx
import pytest

from tests.chat.helpers import Chat
from tests.factories import Accounts


async def test_transfer_hands_the_conversation_over(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat
) -> None:
    ada, bob = await accounts.user("ada"), await accounts.user("bob")
    conversation = await chat.start(ada, "shared")
    await chat.append(ada, conversation["id"], "hello")
    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/transfer",
        json={"to_user_id": bob.id},
        headers=ada.headers,
    )
    assert response.status_code == 200
    assert response.json()["owner"] == {"id": bob.id, "username": "bob"}
    assert response.json()["message_count"] == 1
    path = f"/api/v1/conversations/{conversation['id']}"
    assert (await client.get(path, headers=ada.headers)).status_code == 404
    assert (await client.get(path, headers=bob.headers)).json()["title"] == "shared"
    bobs = (await client.get("/api/v1/conversations", headers=bob.headers)).json()
    assert [c["id"] for c in bobs["items"]] == [conversation["id"]]


@pytest.mark.parametrize("recipient", ["self", "missing", "deleted", "inactive"])
async def test_bad_recipients_are_422(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat, recipient: str
) -> None:
    ada, admin = await accounts.user("ada"), await accounts.admin()
    target = await accounts.user("target")
    if recipient == "deleted":
        await client.delete(f"/api/v1/users/{target.id}", headers=target.headers)
    if recipient == "inactive":
        await client.patch(
            f"/api/v1/users/{target.id}", json={"is_active": False}, headers=admin.headers
        )
    to_user_id = {"self": ada.id, "missing": 987654321}.get(recipient, target.id)
    conversation = await chat.start(ada)
    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/transfer",
        json={"to_user_id": to_user_id},
        headers=ada.headers,
    )
    assert (response.status_code, response.json()["code"]) == (422, "invalid_recipient")
    still = await client.get(f"/api/v1/conversations/{conversation['id']}", headers=ada.headers)
    assert still.json()["owner"]["id"] == ada.id


@pytest.mark.parametrize(
    "body", [{}, {"to_user_id": 0}, {"to_user_id": "bob"}, {"to_user_id": 2**63}]
)
async def test_malformed_transfers_are_422(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat, body: dict[str, object]
) -> None:
    ada = await accounts.user()
    conversation = await chat.start(ada)
    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/transfer", json=body, headers=ada.headers
    )
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


async def test_of_two_concurrent_transfers_exactly_one_wins(
    live_accounts: Accounts, live_client: httpx.AsyncClient
) -> None:
    ada, bob, cyd = (
        await live_accounts.user("ada"),
        await live_accounts.user("bob"),
        await live_accounts.user("cyd"),
    )
    conversation = await Chat(live_client).start(ada)
    path = f"/api/v1/conversations/{conversation['id']}/transfer"
    responses = await asyncio.gather(
        live_client.post(path, json={"to_user_id": bob.id}, headers=ada.headers),
        live_client.post(path, json={"to_user_id": cyd.id}, headers=ada.headers),
    )
    assert sorted(r.status_code for r in responses) == [200, 404]
    winner = next(r for r in responses if r.status_code == 200).json()["owner"]["id"]
    loser = cyd if winner == bob.id else bob
    detail = await live_client.get(
        f"/api/v1/conversations/{conversation['id']}",
        headers=(bob if winner == bob.id else cyd).headers,
    )
    assert detail.json()["owner"]["id"] == winner
    assert (
        await live_client.get(f"/api/v1/conversations/{conversation['id']}", headers=loser.headers)
    ).status_code == 404
