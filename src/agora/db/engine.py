"""Engines from settings: pool options per dialect, SQLite made transactional, read engines.

Two kinds of engine come out of here, each with its own pool:

* the **primary** engine, for transactions that write. On SQLite every such transaction
  starts with ``BEGIN IMMEDIATE``: SQLite ignores ``FOR UPDATE`` and Python's driver reads
  outside any transaction, so without the write lock taken up front two concurrent
  read-modify-write transactions both succeed and one update is lost.
* **read** engines (on the primary, or one per replica), for requests that only read.
  They skip the round trips a read does not need: on PostgreSQL the connections run in
  autocommit (no BEGIN, no COMMIT; every statement sees its own snapshot, exactly as it
  would under READ COMMITTED anyway); on SQLite no BEGIN is sent. MariaDB starts its
  transaction implicitly with the first statement at no cost, so it keeps the default.
  A pool of its own spares switching a shared connection to autocommit and back at
  every checkout (BENCHMARKS.md, "Where the time goes").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agora.telemetry.context import count_statement

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.engine import URL, Connection
    from sqlalchemy.ext.asyncio import AsyncConnection
    from sqlalchemy.pool import ConnectionPoolEntry

    from agora.config import Settings

T = TypeVar("T")

# Execution option read by the SQLite BEGIN hook: this connection only reads.
READ_ONLY_OPTION = "agora_read_only"
SQLITE_BUSY_TIMEOUT_SECONDS = 15.0


def _is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _engine_options(url: URL, settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "echo": settings.db_echo,
        "pool_pre_ping": settings.db_pool_pre_ping,
        # A statement's parameters (a password's hash, an email) stay out of the errors
        # that are logged and reported.
        "hide_parameters": True,
    }
    if not _is_sqlite_memory(url):
        options.update(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            pool_recycle=settings.db_pool_recycle,
        )
    backend = url.get_backend_name()
    if backend == "postgresql":
        # No JIT: it pays off for long analytical queries, not an API's short ones, and
        # its compile time lands on whichever request the planner's estimate happens to
        # push over the threshold.
        options["connect_args"] = {"server_settings": {"application_name": "agora", "jit": "off"}}
    elif backend in ("mysql", "mariadb"):
        options["connect_args"] = {"charset": "utf8mb4"}
    elif backend == "sqlite":
        # sqlite3 waits this long for another writer's lock instead of failing at once.
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
    return options


def _make_sqlite_transactional(engine: AsyncEngine, *, in_memory: bool) -> None:
    """SQLAlchemy's documented recipe: take BEGIN away from sqlite3 and emit our own."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if not in_memory:
            # Readers and the single writer stop blocking each other.
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            return
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def count_statements(engine: AsyncEngine) -> None:
    """Each statement the engine runs is counted for the request it runs for
    (`agora.telemetry.context`). Through the dialect's events, which are consulted at
    the driver call only: a connection event such as ``before_cursor_execute`` turns on
    SQLAlchemy's event path at every step of every statement (BENCHMARKS.md, "Metrics
    and logs")."""
    for name in ("do_execute", "do_execute_no_params", "do_executemany"):
        event.listen(engine.sync_engine, name, count_statement)


def reads_in_autocommit(backend: str) -> bool:
    """Whether the read engines of `backend` run their connections in autocommit."""
    return backend == "postgresql"


def snapshot_isolation(engine: AsyncEngine) -> str | None:
    """The isolation level a read engine's connection switches to for a consistent,
    streamable snapshot: PostgreSQL needs a transaction for a server-side cursor, which
    its autocommit read engine does not have. MariaDB's reads already run in REPEATABLE
    READ transactions, and a single SQLite statement reads one snapshot."""
    return "REPEATABLE READ" if engine.dialect.name == "postgresql" else None


def create_engine(url: str | URL, settings: Settings, *, read_only: bool = False) -> AsyncEngine:
    """An engine for write transactions, or with `read_only` one for sessions that only
    read (see the module docstring)."""
    parsed = make_url(url)
    options = _engine_options(parsed, settings)
    backend = parsed.get_backend_name()
    if read_only and reads_in_autocommit(backend):
        options["isolation_level"] = "AUTOCOMMIT"
        # Its connections hold no transaction to reset (a snapshot's ends with its
        # session's shielded close), so the pool's ROLLBACK on every return is skipped.
        options["pool_reset_on_return"] = None
    elif read_only and backend == "sqlite":
        options["execution_options"] = {READ_ONLY_OPTION: True}
    engine = create_async_engine(parsed, **options)
    count_statements(engine)
    if backend == "sqlite":
        _make_sqlite_transactional(engine, in_memory=_is_sqlite_memory(parsed))
    return engine


async def run_on_connection(
    url: str | URL, settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]
) -> T:
    """`work` on one connection of an engine made for it, committed, then the engine
    disposed: for one-off jobs such as migrations (the command line, the tests, the
    benchmarks), where a pool would outlive its only use."""
    engine = create_engine(url, settings)
    try:
        async with engine.connect() as connection:
            result = await work(connection)
            await connection.commit()
            return result
    finally:
        await engine.dispose()
