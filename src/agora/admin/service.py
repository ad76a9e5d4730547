"""Loading files into tables, and reading tables out, for admins and the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.admin.catalog import export_statement
from agora.chat.service import ChatService
from agora.db.bulk import (
    BulkLoadError,
    RowCoercer,
    RowProblem,
    analyze,
    chunked,
    insert_chunk,
    read_records,
    realign_key_sequence,
)
from agora.db.streams import bounded_batches
from agora.models import Message
from agora.posts.service import PostService

# Tables whose rows change what the blog keeps beside them (tag links' dates, counts).
_COUNTED_BY_THE_BLOG = frozenset({"users", "posts", "tags", "post_tags"})

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence
    from pathlib import Path

    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncSession

    from agora.db.bulk import FileFormat
    from agora.db.repository import AnyRow
    from agora.db.session import Database


def check_file(table: Table, path: Path, file_format: FileFormat) -> int:
    """Read the whole file and convert every record; the number of rows, or a
    `BulkLoadError` listing every bad line."""
    coerce = RowCoercer(table)
    problems: list[RowProblem] = []
    rows = 0
    for line, record in read_records(path, file_format):
        try:
            coerce(record)
            rows += 1
        except ValueError as error:
            problems.append(RowProblem(line, str(error)))
    if problems:
        raise BulkLoadError(problems)
    return rows


async def import_file(
    database: Database,
    table: Table,
    path: Path,
    file_format: FileFormat,
    *,
    progress: Callable[[int], None] = lambda rows: None,
) -> int:
    """Load a checked file (see `check_file`) into `table`, in chunks, all in one
    transaction: if the database refuses a row (a foreign key, a CHECK, a duplicate),
    nothing of the file is kept and the refused lines are reported."""

    async def load(session: AsyncSession) -> int:
        connection = await session.connection()
        coerce = RowCoercer(table)
        rows = ((line, coerce(record)) for line, record in read_records(path, file_format))
        written = 0
        for chunk in chunked(rows):
            await insert_chunk(connection, table, chunk)
            written += len(chunk)
            progress(written)
        if coerce.with_key:
            await realign_key_sequence(connection, table)
        await analyze(connection, table)
        if table is Message.__table__:
            await ChatService(session).recount_messages()
        if table.name in _COUNTED_BY_THE_BLOG:
            await PostService(session).recount()
        return written

    return await database.run_in_transaction(load)


async def export_rows(session: AsyncSession, name: str) -> AsyncIterator[Sequence[AnyRow]]:
    """Every row of export `name`, in batches bounded in rows and bytes, from a
    server-side cursor."""
    result = await session.stream(export_statement(name))
    async for batch in bounded_batches(result):
        yield batch
