"""Appending messages in batches and paging through them with cursors."""

import asyncio
import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.chat.models import Message
from agora.chat.schemas import BATCH_MAX_BYTES
from tests.chat.helpers import Chat
from tests.databases import CountStatements
from tests.factories import Accounts

MESSAGE_FIELDS = {"id", "conversation_id", "role", "content", "created_at"}


async def count_messages(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(Message))).scalar_one()


async def test_a_batch_is_stored_in_order_with_one_insert(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat, count_statements: CountStatements
) -> None:
    ada = await accounts.user()
    conversation = await chat.start(ada)
    body = {
        "messages": [
            {"role": ("user", "assistant", "system")[i % 3], "content": f"message {i}"}
            for i in range(1000)
        ]
    }
    with count_statements() as counter:
        response = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages", json=body, headers=ada.headers
        )
    assert response.status_code == 201
    items = response.json()["items"]
    assert [m["content"] for m in items] == [f"message {i}" for i in range(1000)]
    assert [m["role"] for m in items[:3]] == ["user", "assistant", "system"]
    ids = [m["id"] for m in items]
    assert ids == sorted(ids) and len(set(ids)) == 1000  # noqa: PT018
    assert set(items[0]) == MESSAGE_FIELDS
    assert items[0]["conversation_id"] == conversation["id"]
    inserts = [s for s in counter.statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [{"role": "user", "content": "x"}] * 1001,
        [{"role": "user", "content": "fine"}, {"role": "robot", "content": "nope"}],
        [{"role": "user", "content": "fine"}, {"role": "user"}],
        [{"role": "user", "content": "x" * 200_001}],
        [{"role": "user", "content": "nul\x00"}],
        [{"role": "user", "content": "x", "id": 7}],
    ],
)
async def test_an_invalid_batch_is_422_and_stores_nothing(
    client: httpx.AsyncClient,
    accounts: Accounts,
    chat: Chat,
    session: AsyncSession,
    messages: list[dict[str, object]],
) -> None:
    ada = await accounts.user()
    conversation = await chat.start(ada)
    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        json={"messages": messages},
        headers=ada.headers,
    )
    assert response.status_code == 422
    assert await count_messages(session) == 0
    detail = (
        await client.get(f"/api/v1/conversations/{conversation['id']}", headers=ada.headers)
    ).json()
    assert detail["message_count"] == 0


async def test_an_oversized_request_is_413_declared_or_streamed(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat
) -> None:
    ada = await accounts.user()
    conversation = await chat.start(ada)
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    count = BATCH_MAX_BYTES // 100_000 + 1  # just over the route's cap
    body = {"messages": [{"role": "user", "content": "x" * 100_000}] * count}
    declared = await client.post(path, json=body, headers=ada.headers)
    assert (declared.status_code, declared.json()["code"]) == (413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"messages": ['
        for index in range(count):
            yield (b"," if index else b"") + b'{"role": "user", "content": "' + b"x" * 100_000
            yield b'"}'
        yield b"]}"

    streamed = await client.post(
        path, content=chunks(), headers={**ada.headers, "content-type": "application/json"}
    )
    assert (streamed.status_code, streamed.json()["code"]) == (413, "payload_too_large")


async def test_cursor_pages_cover_every_message_once_in_order(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat
) -> None:
    ada = await accounts.user()
    conversation = await chat.start(ada)
    written = await chat.append(ada, conversation["id"], *[f"m{i}" for i in range(23)])
    assert await chat.read_all(ada, conversation["id"], limit=5) == [m["id"] for m in written]
    first = (
        await client.get(
            f"/api/v1/conversations/{conversation['id']}/messages",
            params={"limit": 5},
            headers=ada.headers,
        )
    ).json()
    assert [m["content"] for m in first["items"]] == ["m0", "m1", "m2", "m3", "m4"]
    assert isinstance(first["next_cursor"], str)


async def test_the_last_cursor_resumes_with_messages_appended_later(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat
) -> None:
    ada = await accounts.user()
    conversation = await chat.start(ada)
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    await chat.append(ada, conversation["id"], "a", "b")
    page = (await client.get(path, params={"limit": 10}, headers=ada.headers)).json()
    cursor = page["next_cursor"]
    empty = (await client.get(path, params={"cursor": cursor}, headers=ada.headers)).json()
    assert empty == {"items": [], "next_cursor": None}
    await chat.append(ada, conversation["id"], "c")
    later = (await client.get(path, params={"cursor": cursor}, headers=ada.headers)).json()
    assert [m["content"] for m in later["items"]] == ["c"]


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        b64("v2:5"),
        b64("v1:"),
        b64("v1:-3"),
        b64("v1:0"),
        b64("v1:1e3"),
        b64("v1:" + "9" * 30),
        b64("v1:٣"),
        "x" * 65,
    ],
)
async def test_invalid_cursors_are_422(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat, cursor: str
) -> None:
    ada = await accounts.user()
    conversation = await chat.start(ada)
    response = await client.get(
        f"/api/v1/conversations/{conversation['id']}/messages",
        params={"cursor": cursor},
        headers=ada.headers,
    )
    assert response.status_code == 422
    if len(cursor) <= 64:
        assert response.json()["code"] == "invalid_cursor"


async def test_paging_while_messages_are_appended_sees_each_exactly_once(
    live_accounts: Accounts, live_client: httpx.AsyncClient
) -> None:
    ada = await live_accounts.user("ada")
    conversation = await Chat(live_client).start(ada)
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    written: list[int] = []
    writing = True

    async def writer(index: int) -> None:
        for batch in range(6):
            items = await Chat(live_client).append(
                ada, conversation["id"], *[f"w{index}-{batch}-{n}" for n in range(5)]
            )
            written.extend(item["id"] for item in items)
            await asyncio.sleep(0)

    async def reader() -> list[int]:
        seen: list[int] = []
        params: dict[str, object] = {"limit": 4}
        while True:
            # Whether every write had been answered before this read was sent: a read sent
            # earlier may rightly miss a batch that commits while it runs.
            written_before = not writing
            page = (await live_client.get(path, params=params, headers=ada.headers)).json()
            seen += [message["id"] for message in page["items"]]
            if page["next_cursor"] is not None:
                params["cursor"] = page["next_cursor"]
            elif written_before:
                return seen
            await asyncio.sleep(0)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(index) for index in range(4)))
    writing = False
    seen = await reading
    assert seen == sorted(written)
    assert len(seen) == len(set(seen)) == 4 * 6 * 5
