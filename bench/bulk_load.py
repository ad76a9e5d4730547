"""Benchmark: bulk loading messages, on PostgreSQL, MariaDB and SQLite.

Contenders, each loading the same generated rows into an emptied table, in chunks of
5,000, in one transaction:

* agora's bulk path (`agora.db.bulk.bulk_insert`: COPY through asyncpg on PostgreSQL,
  multi-row INSERTs elsewhere), as `agora db import` and `agora db seed` use it;
* raw asyncpg ``copy_records_to_table`` (PostgreSQL only), the limit;
* the ORM pattern many applications start with: ``session.add_all(objects)`` and
  ``await session.flush()`` per chunk, then COMMIT.

Targets: on PostgreSQL agora >= 50% of raw COPY's rows/s; on every database agora >= 4x
the ORM pattern. The ORM pattern loads fewer rows (--orm-rows, 200,000 by default: its
identity map grows with every row); rows per second are compared.

    uv run python -m bench.bulk_load [--rows 1000000] [--orm-rows 200000]
"""

import asyncio
import json
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from agora.admin.seed import WORDS
from agora.chat.models import Message
from agora.config import Settings
from agora.db import migrations
from agora.db.base import Base
from agora.db.bulk import CHUNK_ROWS, bulk_insert, chunked
from agora.db.engine import create_engine, run_on_connection
from bench.harness import RESULTS, argument_parser, create_migrated_database, sqlalchemy_url

DATABASE = "agora_bench_bulk"
MARIADB = "mysql+aiomysql://root@127.0.0.1:3306/test"
CONVERSATIONS = 200


def generate(conversations: list[uuid.UUID], rows: int) -> Iterator[dict[str, Any]]:
    """`rows` messages. The texts are drawn beforehand, so that the generator costs
    little next to the loaders it feeds: they are what is measured."""
    rng = random.Random(1)
    texts = [" ".join(rng.choices(WORDS, k=30)) for _ in range(1000)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(rows):
        yield {
            "conversation_id": conversations[index % len(conversations)],
            "role": ("user", "assistant")[index % 2],
            "content": texts[index % len(texts)],
            "created_at": start + timedelta(microseconds=index),
        }


def _settings(url: str) -> Settings:
    return Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]


async def _recreate_mariadb_database(connection: AsyncConnection) -> None:
    await connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE}"))
    await connection.execute(text(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4"))


async def database_url(dialect: str) -> str:
    """A new, empty database of `dialect`, migrated to head."""
    if dialect == "postgresql":
        return sqlalchemy_url(await create_migrated_database(DATABASE))
    if dialect == "mariadb":
        await run_on_connection(MARIADB, _settings(MARIADB), _recreate_mariadb_database)
        url = make_url(MARIADB).set(database=DATABASE).render_as_string(hide_password=False)
    else:
        path = RESULTS / f"{DATABASE}.db"
        RESULTS.mkdir(parents=True, exist_ok=True)
        for leftover in (path, path.with_suffix(".db-wal"), path.with_suffix(".db-shm")):
            leftover.unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
    await run_on_connection(url, _settings(url), migrations.upgrade)
    return url


async def prepare(engine: AsyncEngine) -> list[uuid.UUID]:
    """One user owning the conversations the messages go to."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    conversations = [uuid.UUID(int=n, version=4) for n in range(1, CONVERSATIONS + 1)]
    tables = Base.metadata.tables
    async with engine.begin() as connection:
        await connection.execute(
            tables["users"].insert(),
            {
                "id": 1,
                "email": "b@example.com",
                "username": "bench",
                "hashed_password": "x",
                "is_active": True,
                "is_superuser": False,
                "created_at": now,
                "updated_at": now,
            },
        )
        await connection.execute(
            tables["conversations"].insert(),
            [
                {
                    "id": c,
                    "owner_id": 1,
                    "title": "t",
                    "message_count": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for c in conversations
            ],
        )
    return conversations


async def agora_bulk(engine: AsyncEngine, rows: Iterator[dict[str, Any]]) -> None:
    table = Base.metadata.tables["messages"]
    async with engine.begin() as connection:
        for chunk in chunked(rows, CHUNK_ROWS):
            await bulk_insert(connection, table, chunk)


async def raw_copy(url: str, rows: Iterator[dict[str, Any]]) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    columns = ["conversation_id", "role", "content", "created_at"]
    try:
        async with connection.transaction():
            for chunk in chunked(rows, CHUNK_ROWS):
                await connection.copy_records_to_table(
                    "messages",
                    columns=columns,
                    records=[tuple(r[c] for c in columns) for r in chunk],
                )
    finally:
        await connection.close()


async def orm_add_all(engine: AsyncEngine, rows: Iterator[dict[str, Any]]) -> None:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        for chunk in chunked(rows, CHUNK_ROWS):
            session.add_all(Message(**row) for row in chunk)
            await session.flush()
        await session.commit()


async def measure(dialect: str, rows: int, orm_rows: int) -> dict[str, float]:
    url = await database_url(dialect)
    engine = create_engine(url, _settings(url))
    conversations = await prepare(engine)
    contenders: dict[str, tuple[int, Any]] = {
        "agora bulk path": (rows, lambda generated: agora_bulk(engine, generated)),
        "ORM add_all + flush": (orm_rows, lambda generated: orm_add_all(engine, generated)),
    }
    if dialect == "postgresql":
        contenders["raw asyncpg COPY"] = (rows, lambda generated: raw_copy(url, generated))
    rates = {}
    for name, (count, load) in contenders.items():
        async with engine.begin() as connection:
            await connection.execute(delete(Base.metadata.tables["messages"]))
        started = time.perf_counter()
        await load(generate(conversations, count))
        seconds = time.perf_counter() - started
        rates[name] = count / seconds
        print(
            f"{dialect:10} {name:22} {count:>9} rows in {seconds:6.1f} s: "
            f"{rates[name]:9.0f} rows/s",
            flush=True,
        )
    await engine.dispose()
    return rates


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--orm-rows", type=int, default=200_000)
    parser.add_argument("--dialect", action="append", choices=["postgresql", "mariadb", "sqlite"])
    args = parser.parse_args()
    results = {
        dialect: asyncio.run(measure(dialect, args.rows, args.orm_rows))
        for dialect in args.dialect or ["postgresql", "mariadb", "sqlite"]
    }
    print(
        "\n| database | agora rows/s | ORM add_all rows/s | agora / ORM | raw COPY rows/s "
        "| agora / COPY |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for dialect, rates in results.items():
        agora, orm = rates["agora bulk path"], rates["ORM add_all + flush"]
        copy = rates.get("raw asyncpg COPY")
        print(
            f"| {dialect} | {agora:.0f} | {orm:.0f} | {agora / orm:.1f}x | "
            f"{f'{copy:.0f}' if copy else '-'} | {f'{agora / copy:.0%}' if copy else '-'} |"
        )
        verdict = "PASS" if agora >= 4 * orm else "FAIL"
        print(f"{verdict}: {dialect}: agora >= 4x the ORM pattern")
        if copy:
            print(f"{'PASS' if agora >= 0.5 * copy else 'FAIL'}: agora >= 50% of raw COPY")
    (RESULTS / "bulk_load.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
