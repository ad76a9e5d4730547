"""Bulk loading: many rows in, fast, and all or nothing.

`bulk_insert` writes rows the fastest way each database offers: PostgreSQL's COPY
through asyncpg; elsewhere one Core INSERT executed with every row of the chunk
(SQLAlchemy's executemany), which aiomysql sends to MariaDB as multi-row INSERTs of up
to 1 MB each, and which SQLite steps through as one prepared statement. It does no ORM
bookkeeping at all: no objects, no identity map, no unit of work.

`insert_chunk` adds what an import needs: each chunk in a savepoint, and when the
database refuses one (a foreign key, a CHECK, a duplicate), the lines it refuses.

`read_records` and `RowCoercer` turn an NDJSON or CSV file into typed rows for a table,
reporting every bad row by its line number, so a loader can check a whole file before
writing any of it.
"""

from __future__ import annotations

import csv
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    String,
    Text,
    Uuid,
    func,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from agora.db.errors import violated_constraint
from agora.db.types import UTCDateTime

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from pathlib import Path
    from typing import IO

    from sqlalchemy import Column, Table
    from sqlalchemy.ext.asyncio import AsyncConnection

FileFormat = Literal["ndjson", "csv"]
CHUNK_ROWS = 5_000
# A refused chunk is searched for its bad lines until this many are found.
MAX_REFUSED_LINES = 100


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    message: str
    last_line: int | None = None  # when the problem is a range of lines (a chunk)

    def __str__(self) -> str:
        if self.last_line is None or self.last_line == self.line:
            return f"line {self.line}: {self.message}"
        return f"lines {self.line}-{self.last_line}: {self.message}"


class BulkLoadError(Exception):
    """The rows were refused; nothing of them was kept."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__("; ".join(map(str, problems[:3])))
        self.problems = list(problems)


def read_records(path: Path, file_format: FileFormat) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(line number, record) for every record of the file, read as it goes.

    A CSV empty field is a NULL. A line that is not a record is yielded as a record that
    `RowCoercer` will refuse, so that it is reported with the others; bytes that are not
    UTF-8 stop the reading with a `BulkLoadError`.
    """
    with path.open("rb") as file:
        lines = _decoded(file)
        if file_format == "csv":
            reader = csv.DictReader(lines)
            for record in reader:
                yield (
                    reader.line_num,
                    {name: (None if value == "" else value) for name, value in record.items()},
                )
            return
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                record = {_NOT_A_RECORD: f"not valid JSON ({error.msg})"}
            if not isinstance(record, dict):
                record = {_NOT_A_RECORD: "not a JSON object"}
            yield number, record


def _decoded(file: IO[bytes]) -> Iterator[str]:
    for number, raw in enumerate(file, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BulkLoadError([RowProblem(number, "not UTF-8 text")]) from None


_NOT_A_RECORD = "\x00not a record"


def _to_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdecimal() and value.isascii():
        return int(value)
    raise ValueError("expected an integer")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise ValueError("expected true or false")


def _to_datetime(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError("expected an ISO-8601 date and time") from None
    if parsed.tzinfo is None:
        raise ValueError("expected a UTC offset (e.g. Z or +00:00)")
    return parsed.astimezone(UTC)


def _to_uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (AttributeError, TypeError, ValueError):
        raise ValueError("expected a UUID") from None


def _converter(column: Column[Any]) -> Callable[[Any], Any]:
    kind = column.type
    if isinstance(kind, UTCDateTime | DateTime):
        return _to_datetime
    if isinstance(kind, Integer | BigInteger):
        return _to_int
    if isinstance(kind, Boolean):
        return _to_bool
    if isinstance(kind, Uuid):
        return _to_uuid
    if isinstance(kind, String | Text):
        length = getattr(kind, "length", None)

        def to_text(value: Any) -> str:
            if not isinstance(value, str):
                raise ValueError("expected text")
            if "\x00" in value:
                raise ValueError("contains a NUL character")
            if length is not None and len(value) > length:
                raise ValueError(f"longer than {length} characters")
            return value

        return to_text
    raise TypeError(f"no bulk conversion for {kind!r} ({column})")


class RowCoercer:
    """Typed, complete rows for `table` from loosely typed records (JSON or CSV).

    Missing columns get their defaults; an auto-incremented primary key may be left
    out, but then by every row. Unknown columns, wrong types, too long text and missing
    required values are `ValueError`s, raised with a message naming the column.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self._converters = {column.name: _converter(column) for column in table.columns}
        generated = table.autoincrement_column
        self._generated_key = None if generated is None else generated.name
        self.with_key: bool | None = None

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any]:
        if _NOT_A_RECORD in record:
            raise ValueError(record[_NOT_A_RECORD])
        unknown = sorted(set(record) - set(self._converters))
        if unknown:
            raise ValueError(f"unknown column {', '.join(unknown)}")
        if self._generated_key is not None:
            has_key = record.get(self._generated_key) is not None
            if self.with_key is None:
                self.with_key = has_key
            elif has_key != self.with_key:
                raise ValueError(f"{self._generated_key} must be given for every row or none")
        row: dict[str, Any] = {}
        for column in self.table.columns:
            value = record.get(column.name)
            if value is None and column.name == self._generated_key:
                continue
            if value is None and column.default is not None:
                default = column.default  # already a typed value: no conversion
                row[column.name] = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
                continue
            if value is None:
                if not column.nullable:
                    raise ValueError(f"{column.name} is required")
                row[column.name] = None
                continue
            try:
                row[column.name] = self._converters[column.name](value)
            except ValueError as error:
                raise ValueError(f"{column.name}: {error}") from None
        return row


async def bulk_insert(
    connection: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert `rows` (all with the same columns) in the connection's transaction."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        await connection.execute(table.insert(), list(rows))
        return
    columns = list(rows[0])
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None  # (None only for a connection that was closed)
    if not raw.is_in_transaction():
        # COPY goes straight to asyncpg, below SQLAlchemy, which sends BEGIN only with
        # its first statement: one is sent first, so that the COPY runs in the
        # transaction (once: later chunks, and savepoints, find it open).
        await connection.execute(text("SELECT 1"))
    try:
        await raw.copy_records_to_table(
            table.name, columns=columns, records=[tuple(row[c] for c in columns) for row in rows]
        )
    except Exception as error:
        # asyncpg's own errors: report them as SQLAlchemy would, for the callers' sake.
        raise DBAPIError(f"COPY {table.name}", None, error) from error


async def insert_chunk(
    connection: AsyncConnection, table: Table, chunk: Sequence[tuple[int, Mapping[str, Any]]]
) -> None:
    """Insert a chunk of (line number, row) pairs in a savepoint of the connection's
    transaction. If the database refuses it, the chunk is undone and retried one row at
    a time (each in a savepoint) to find the lines it refuses, up to MAX_REFUSED_LINES;
    then `BulkLoadError` names them, and the caller must roll its transaction back."""
    try:
        async with connection.begin_nested():
            await bulk_insert(connection, table, [row for _line, row in chunk])
        return
    except DBAPIError as error:
        refusal = error
    problems: list[RowProblem] = []
    for line, row in chunk:
        try:
            async with connection.begin_nested():
                await bulk_insert(connection, table, [row])
        except DBAPIError as error:
            problems.append(RowProblem(line, _refusal_reason(error, table)))
            if len(problems) >= MAX_REFUSED_LINES:
                break
    # No row refused on its own (the chunk failed as a whole): name the chunk.
    raise BulkLoadError(
        problems or [RowProblem(chunk[0][0], _refusal_reason(refusal, table), chunk[-1][0])]
    ) from refusal


def _refusal_reason(error: DBAPIError, table: Table) -> str:
    violation = violated_constraint(error, table.metadata)
    if violation is None:
        return f"refused by the database: {error.orig}"
    name = f" {violation.name}" if violation.name else ""
    return {
        "unique": f"duplicates a row already there (unique{name})",
        "foreign_key": f"refers to a row that does not exist (foreign key{name})",
        "check": f"out of the allowed range (check{name})",
        "not_null": "a required column is missing",
    }[violation.kind]


async def realign_key_sequence(connection: AsyncConnection, table: Table) -> None:
    """After rows were inserted with explicit ids, move PostgreSQL's sequence past them
    (MariaDB and SQLite follow the largest id by themselves)."""
    if connection.dialect.name != "postgresql":
        return
    key = table.autoincrement_column
    if key is None:
        return
    highest = (await connection.execute(select(func.max(key)))).scalar()
    if highest is not None:
        await connection.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, :column), :value)"),
            {"table": table.name, "column": key.name, "value": highest},
        )


async def analyze(connection: AsyncConnection, table: Table) -> None:
    """Refresh the planner's statistics of `table` after a bulk load: without them the
    planner guesses, and on PostgreSQL may even compile the query (JIT) for a guess."""
    statement = {"mysql": "ANALYZE TABLE {}", "mariadb": "ANALYZE TABLE {}"}.get(
        connection.dialect.name, "ANALYZE {}"
    )
    quoted = connection.dialect.identifier_preparer.quote(table.name)
    await connection.execute(text(statement.format(quoted)))


def chunked(rows: Iterator[Any], size: int = CHUNK_ROWS) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
