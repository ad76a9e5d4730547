"""Streamed responses: large results leave as they are read, never held whole.

A streamed body outlives the request's unit of work (which has committed and closed by
the time the first byte goes out), so it reads through a session of its own: a
`Database.snapshot`, one consistent view, released when the stream ends, fails, or the
client goes away.
"""

from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from agora.db.session import Database

NDJSON = "application/x-ndjson"
# Rows are sent in chunks of about this size: one write per row would cost more than the
# rows themselves.
CHUNK_BYTES = 64 * 1024

RowSource = Callable[[AsyncSession], AsyncIterator[Any]]


def ndjson_response(
    database: Database, rows: RowSource, schema: type[BaseModel], *, filename: str
) -> StreamingResponse:
    """Every row `rows` yields, as one JSON object per line in the shape of `schema`."""

    async def body() -> AsyncIterator[bytes]:
        async with database.snapshot() as session:
            chunk = bytearray()
            async for row in rows(session):
                chunk += schema.model_validate(row).model_dump_json().encode()
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
