"""Streamed exports: large results leave as they are read, never held whole.

A streamed body outlives the request's unit of work (which has committed and closed by
the time the first byte goes out), so it reads through a session of its own: a
`Database.snapshot`, one consistent view, released when the stream ends, fails, or the
client goes away.

Rows arrive in batches (one await per batch, not per row: each await of an async result
crosses SQLAlchemy's greenlet bridge) and leave as NDJSON (each row's mapping, labelled
exactly as the resource's schema names its fields) or CSV (a header, then one line per
row; NULL is an empty field, times are ISO-8601 in UTC). Cells are written as they are,
without the quote some tools prefix to text starting with `=`: exports are data to be
imported again, and must survive the round trip unchanged.
"""

import csv
import io
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from fastapi.responses import StreamingResponse
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from agora.db.bulk import FileFormat
from agora.db.repository import AnyRow
from agora.db.session import Database

MEDIA_TYPES: dict[FileFormat, str] = {"ndjson": "application/x-ndjson", "csv": "text/csv"}
# Rows are sent in chunks of about this size: one write per row would cost more than the
# rows themselves.
CHUNK_BYTES = 64 * 1024

RowBatches = Callable[[AsyncSession], AsyncIterator[Sequence[AnyRow]]]


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


async def encode(
    batches: AsyncIterator[Sequence[AnyRow]], file_format: FileFormat, columns: Sequence[str]
) -> AsyncIterator[bytes]:
    """The rows of `batches` as NDJSON or CSV, in chunks of about CHUNK_BYTES."""
    chunk = bytearray()
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    if file_format == "csv":
        writer.writerow(columns)
    async for batch in batches:
        if file_format == "ndjson":
            for row in batch:
                chunk += to_json(row._asdict())
                chunk += b"\n"
        else:
            writer.writerows([_csv_value(value) for value in row] for row in batch)
        if file_format == "csv" or len(chunk) >= CHUNK_BYTES:
            chunk += text.getvalue().encode()
            text.seek(0)
            text.truncate()
        if len(chunk) >= CHUNK_BYTES:
            yield bytes(chunk)
            chunk.clear()
    chunk += text.getvalue().encode()
    if chunk:
        yield bytes(chunk)


async def stream_export(
    database: Database, batches: RowBatches, file_format: FileFormat, columns: Sequence[str]
) -> AsyncIterator[bytes]:
    """The encoded rows of `batches`, read from a snapshot session of their own."""
    async with database.snapshot() as session:
        async for chunk in encode(batches(session), file_format, columns):
            yield chunk


def export_response(
    database: Database,
    batches: RowBatches,
    *,
    file_format: FileFormat,
    columns: Sequence[str],
    filename: str,
) -> StreamingResponse:
    """A download of every row `batches` yields, read from a snapshot of its own."""
    return StreamingResponse(
        stream_export(database, batches, file_format, columns),
        media_type=MEDIA_TYPES[file_format],
        headers={"Content-Disposition": f'attachment; filename="{filename}.{file_format}"'},
    )
