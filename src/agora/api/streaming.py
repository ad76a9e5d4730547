"""Streamed responses: large results leave as they are read, never held whole.

A streamed body outlives the request's unit of work (which has committed and closed by
the time the first byte goes out), so it reads through a session of its own: a
`Database.snapshot`, one consistent view, released when the stream ends, fails, or the
client goes away.

Rows arrive in batches (one await per batch, not per row: each await of an async result
crosses SQLAlchemy's greenlet bridge) and are written as their column mappings, which
the query labels exactly as the resource's schema names its fields.
"""

from collections.abc import AsyncIterator, Callable, Sequence

from fastapi.responses import StreamingResponse
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from agora.db.repository import AnyRow
from agora.db.session import Database

NDJSON = "application/x-ndjson"
# Rows are sent in chunks of about this size: one write per row would cost more than the
# rows themselves.
CHUNK_BYTES = 64 * 1024

RowBatches = Callable[[AsyncSession], AsyncIterator[Sequence[AnyRow]]]


def ndjson_response(database: Database, batches: RowBatches, *, filename: str) -> StreamingResponse:
    """Every row of every batch, one JSON object per line."""

    async def body() -> AsyncIterator[bytes]:
        async with database.snapshot() as session:
            chunk = bytearray()
            async for batch in batches(session):
                for row in batch:
                    chunk += to_json(row._asdict())
                    chunk += b"\n"
                if len(chunk) >= CHUNK_BYTES:
                    yield bytes(chunk)
                    chunk.clear()
            if chunk:
                yield bytes(chunk)

    return StreamingResponse(
        body(),
        media_type=NDJSON,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
