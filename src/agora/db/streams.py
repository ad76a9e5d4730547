"""Reading a large result in batches bounded in rows and in bytes.

A server-side cursor keeps memory flat only if each fetch is small: a fixed batch of
1,000 rows is 1 MB of short rows but 200 MB of long messages. `bounded_batches` starts
small and sizes every next fetch (the driver's too, through ``yield_per``) from the
bytes per row seen so far, so that a batch stays near `max_bytes` whatever the rows
hold. (asyncpg's server-side cursor reads at least 50 rows whenever its buffer is
empty, which bounds what one export can hold at 50 of its longest rows.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from sqlalchemy.engine import Row
    from sqlalchemy.ext.asyncio import AsyncResult

BATCH_ROWS = 1000
BATCH_BYTES = 1024 * 1024
_FIRST_BATCH_ROWS = 16
_FIXED_VALUE_BYTES = 8  # a number, a date, a boolean


def approximate_bytes(rows: Sequence[Row[Any]]) -> int:
    """About how much the rows weigh: their text and bytes, and a few bytes per other value."""
    return sum(
        len(value) if isinstance(value, str | bytes) else _FIXED_VALUE_BYTES
        for row in rows
        for value in row
    )


async def bounded_batches(
    result: AsyncResult[Any], *, max_rows: int = BATCH_ROWS, max_bytes: int = BATCH_BYTES
) -> AsyncIterator[Sequence[Row[Any]]]:
    """The rows of `result`, in batches of at most `max_rows` rows and about `max_bytes`."""
    size = min(_FIRST_BATCH_ROWS, max_rows)
    while True:
        result.yield_per(size)
        batch = await result.fetchmany(size)
        if not batch:
            return
        yield batch
        per_row = max(1, approximate_bytes(batch) // len(batch))
        size = max(1, min(max_rows, max_bytes // per_row))
