"""Loading files into tables: all of a good file, nothing of a bad one."""

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from agora.admin.catalog import IMPORTABLE
from agora.admin.service import check_file, import_file
from agora.chat.models import Conversation
from agora.db.bulk import BulkLoadError
from agora.db.session import Database
from agora.shop.models import Product
from tests.factories import Accounts


async def count(database: Database, model: type) -> int:
    async with database.transaction(read_only=True) as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


def write_ndjson(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


async def load(database: Database, table: str, path: Path) -> int:
    file_format = "csv" if path.suffix == ".csv" else "ndjson"
    check_file(IMPORTABLE[table], path, file_format)
    return await import_file(database, IMPORTABLE[table], path, file_format)


async def test_a_good_ndjson_file_is_imported_whole(
    live_database: Database, tmp_path: Path
) -> None:
    rows = [{"name": f"item {i}", "price_cents": i, "stock": 1} for i in range(12_000)]
    assert (
        await load(live_database, "products", write_ndjson(tmp_path / "p.ndjson", rows)) == 12_000
    )
    assert await count(live_database, Product) == 12_000


async def test_a_good_csv_file_is_imported_with_empty_fields_as_null(
    live_database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "products.csv"
    path.write_text(
        "name,description,price_cents,stock,is_active,created_at\n"
        "Mug,,300,10,true,2026-01-02T03:04:05Z\n"
        'Cup,"a, comma",200,5,0,\n'
    )
    assert await load(live_database, "products", path) == 2
    async with live_database.transaction(read_only=True) as session:
        products = (await session.execute(select(Product).order_by(Product.id))).scalars().all()
    assert [(p.name, p.description, p.is_active) for p in products] == [
        ("Mug", None, True),
        ("Cup", "a, comma", False),
    ]
    assert products[0].created_at.isoformat() == "2026-01-02T03:04:05+00:00"


async def test_every_bad_line_is_reported_and_nothing_is_imported(
    live_database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text(
        '{"name": "fine", "price_cents": 1, "stock": 1}\n'
        '{"name": "no price", "stock": 1}\n'
        "not json\n"
        "\n"
        '{"name": "typed", "price_cents": "ten", "stock": 1}\n'
        '{"name": "extra", "price_cents": 1, "stock": 1, "color": "red"}\n'
        '["not", "an", "object"]\n'
        '{"name": "' + "x" * 201 + '", "price_cents": 1, "stock": 1}\n'
        '{"name": "when", "price_cents": 1, "stock": 1, "created_at": "2026-01-01T00:00:00"}\n'
    )
    with pytest.raises(BulkLoadError) as raised:
        check_file(IMPORTABLE["products"], path, "ndjson")
    assert [str(problem) for problem in raised.value.problems] == [
        "line 2: price_cents is required",
        "line 3: not valid JSON (Expecting value)",
        "line 5: price_cents: expected an integer",
        "line 6: unknown column color",
        "line 7: not a JSON object",
        "line 8: name: longer than 200 characters",
        "line 9: created_at: expected a UTC offset (e.g. Z or +00:00)",
    ]
    assert await count(live_database, Product) == 0


async def test_a_chunk_the_database_refuses_leaves_nothing_behind(
    live_database: Database, tmp_path: Path
) -> None:
    rows: list[object] = [
        {"name": f"item {i}", "price_cents": 1, "stock": 1} for i in range(12_000)
    ]
    # A CHECK in chunk 3: the file's check passes, the database refuses.
    rows[11_000] = {"name": "negative", "price_cents": -1, "stock": 1}
    path = write_ndjson(tmp_path / "p.ndjson", rows)
    with pytest.raises(BulkLoadError) as raised:
        await load(live_database, "products", path)
    assert [str(problem) for problem in raised.value.problems] == [
        "line 11001: out of the allowed range (check ck_products_price_not_negative)"
    ]
    assert await count(live_database, Product) == 0


async def test_missing_references_are_refused(live_database: Database, tmp_path: Path) -> None:
    orphan = {
        "conversation_id": "00000000-0000-4000-8000-000000000000",
        "role": "user",
        "content": "lost",
    }
    with pytest.raises(BulkLoadError) as raised:
        await load(live_database, "messages", write_ndjson(tmp_path / "m.ndjson", [orphan]))
    (problem,) = raised.value.problems
    assert problem.line == 1
    assert str(problem).startswith("line 1: refers to a row that does not exist (foreign key")


async def test_every_refused_line_is_named_and_nothing_is_kept(
    live_accounts: Accounts, live_database: Database, tmp_path: Path
) -> None:
    taken = await live_accounts.user("ada")
    user = {"hashed_password": "x", "is_active": True, "is_superuser": False}
    rows = [{**user, "email": f"u{i}@example.com", "username": f"u{i}"} for i in range(6)]
    rows[1] = {**user, "email": "ada@example.com", "username": "new"}  # already registered
    rows[4] = {**user, "email": "u0@example.com", "username": "twin"}  # line 1 in the file
    with pytest.raises(BulkLoadError) as raised:
        await load(live_database, "users", write_ndjson(tmp_path / "u.ndjson", rows))
    assert [problem.line for problem in raised.value.problems] == [2, 5]
    assert all("duplicates a row already there" in str(p) for p in raised.value.problems)
    async with live_database.transaction(read_only=True) as session:
        emails = (await session.execute(text("SELECT email FROM users"))).scalars().all()
    assert emails == [taken.email]


async def test_files_that_are_not_utf8_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,price_cents,stock\ncaf\xe9,1,1\n".encode("latin-1"))
    with pytest.raises(BulkLoadError) as raised:
        check_file(IMPORTABLE["products"], path, "csv")
    assert str(raised.value.problems[0]) == "line 2: not UTF-8 text"


async def test_explicit_ids_are_kept_and_new_rows_follow_them(
    live_accounts: Accounts, live_client: httpx.AsyncClient, live_database: Database, tmp_path: Path
) -> None:
    rows = [{"id": 1000 + i, "name": f"legacy {i}", "price_cents": 1, "stock": 1} for i in range(3)]
    await load(live_database, "products", write_ndjson(tmp_path / "p.ndjson", rows))
    admin = await live_accounts.admin()
    created = await live_client.post(
        "/api/v1/products",
        json={"name": "new", "price_cents": 1, "stock": 1},
        headers=admin.headers,
    )
    assert created.status_code == 201
    assert created.json()["id"] > 1002


async def test_ids_are_given_for_every_row_or_none(tmp_path: Path) -> None:
    rows = [
        {"id": 7, "name": "a", "price_cents": 1, "stock": 1},
        {"name": "b", "price_cents": 1, "stock": 1},
    ]
    with pytest.raises(BulkLoadError) as raised:
        check_file(IMPORTABLE["products"], write_ndjson(tmp_path / "p.ndjson", rows), "ndjson")
    assert str(raised.value.problems[0]) == "line 2: id must be given for every row or none"


async def test_imported_messages_are_counted_in_their_conversation(
    live_accounts: Accounts, live_client: httpx.AsyncClient, live_database: Database, tmp_path: Path
) -> None:
    ada = await live_accounts.user("ada")
    conversation = (
        await live_client.post("/api/v1/conversations", json={"title": "t"}, headers=ada.headers)
    ).json()
    rows = [
        {"conversation_id": conversation["id"], "role": "user", "content": f"m{i}"}
        for i in range(5)
    ]
    assert await load(live_database, "messages", write_ndjson(tmp_path / "m.ndjson", rows)) == 5
    detail = await live_client.get(
        f"/api/v1/conversations/{conversation['id']}", headers=ada.headers
    )
    assert detail.json()["message_count"] == 5
    assert len(detail.json()["messages"]) == 5
    async with live_database.transaction(read_only=True) as session:
        assert (await session.execute(select(Conversation.message_count))).scalar_one() == 5
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
