"""Streamed exports: large results leave as they are read, never held whole, and never
at the expense of the other requests.

A streamed body outlives the request's unit of work (which has ended by the time the
first byte goes out), so it reads through a session of its own: a `Database.snapshot`,
one consistent view from the exports' own small pool (``AGORA_EXPORT_CONCURRENCY``).
`ExportResponse` takes that session before it sends its status: when none is free
within the pool timeout the answer is a 503, never a 200 cut short. A user runs at most
``AGORA_EXPORTS_PER_USER`` exports at once (429 `rate_limited` beyond); a client that
takes nothing for ``AGORA_EXPORT_SEND_TIMEOUT_SECONDS`` has its stream cut. Whatever
ends a stream (its end, an error, the client leaving or stalling), its session and its
slot are given back.

Rows arrive in batches bounded in rows and bytes (`agora.db.streams`; one await per
batch: each await of an async result crosses SQLAlchemy's greenlet bridge) and leave
as NDJSON (each row's mapping, labelled exactly as the resource's schema names its
fields) or CSV (a header, then one line per row; NULL is an empty field, times are
ISO-8601 in UTC). Over HTTP, a CSV cell that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading
``'``; the command line's exports keep every value as it is, for round trips.
"""

import asyncio
import csv
import io
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Scope, Send

from agora.api.dependencies import DatabaseDep, SessionDep
from agora.api.errors import domain_error_response
from agora.api.ratelimit import RateLimited
from agora.api.routing import documents_errors
from agora.db.bulk import FileFormat
from agora.db.errors import DatabaseUnavailable, is_unavailable
from agora.db.repository import AnyRow
from agora.db.session import Database, after_failure
from agora.kernel.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

MEDIA_TYPES: dict[FileFormat, str] = {"ndjson": "application/x-ndjson", "csv": "text/csv"}
# Rows are sent in chunks of about this size: one write per row would cost more than the
# rows themselves.
CHUNK_BYTES = 64 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# When a user's exports are all running, how soon to try again.
EXPORT_RETRY_SECONDS = 5

RowBatches = Callable[[AsyncSession], AsyncIterator[Sequence[AnyRow]]]


def _csv_value(value: Any, *, neutralize: bool) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if neutralize and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


async def encode(
    batches: AsyncIterator[Sequence[AnyRow]],
    file_format: FileFormat,
    columns: Sequence[str],
    *,
    neutralize_formulas: bool = False,
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
            writer.writerows(
                [_csv_value(value, neutralize=neutralize_formulas) for value in row]
                for row in batch
            )
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
    """The encoded rows of `batches`, read from a snapshot session of their own, values
    as they are (the command line's export)."""
    async with database.snapshot() as session:
        async for chunk in encode(batches(session), file_format, columns):
            yield chunk


class ExportResponse(StreamingResponse):
    """A stream that takes its reading session when it is sent, before its first byte
    (a 503 instead, when none can be had), and gives back what it holds (`resources`:
    the session, the user's slot) however it ends."""

    def __init__(
        self,
        database: Database,
        batches: RowBatches,
        *,
        file_format: FileFormat,
        columns: Sequence[str],
        resources: AsyncExitStack,
        send_timeout: float,
        headers: dict[str, str],
    ) -> None:
        super().__init__(self._chunks(), media_type=MEDIA_TYPES[file_format], headers=headers)
        self.database = database
        self.batches = batches
        self.file_format = file_format
        self.columns = columns
        self.resources = resources
        self.send_timeout = send_timeout
        self.snapshot: AsyncSession | None = None

    async def _chunks(self) -> AsyncIterator[bytes]:
        assert self.snapshot is not None
        batches = self.batches(self.snapshot)
        async for chunk in encode(
            batches, self.file_format, self.columns, neutralize_formulas=True
        ):
            yield chunk

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stalled = False

        async def send_in_time(message: Message) -> None:
            nonlocal stalled
            try:
                async with asyncio.timeout(self.send_timeout):
                    await send(message)
            except TimeoutError:
                stalled = True
                raise

        try:
            try:
                self.snapshot = await self.resources.enter_async_context(self.database.snapshot())
            except Exception as error:
                await _refusal(error)(scope, receive, send)
                return
            await super().__call__(scope, receive, send_in_time)
        except (OSError, ClientDisconnect):  # the client left, or took nothing for too long
            if stalled:
                logger.warning(
                    "an export's client took nothing for %.0f s: its stream was cut",
                    self.send_timeout,
                )
        finally:
            await self.body_iterator.aclose()  # type: ignore[attr-defined]
            await self.resources.aclose()


def _refusal(error: Exception) -> JSONResponse:
    """The 503 of an export that could not get its reading session."""
    if isinstance(error, ServiceUnavailable):
        return domain_error_response(error)
    if is_unavailable(error):
        logger.warning("an export could not get a connection: %s", error)
        return domain_error_response(DatabaseUnavailable())
    raise error


class ExportSlots:
    """How many exports each user is running in this process (``app.state.export_slots``)."""

    def __init__(self, *, per_user: int, send_timeout: float) -> None:
        self.per_user = per_user
        self.send_timeout = send_timeout
        self.running: Counter[int] = Counter()

    def take(self, user_id: int) -> Callable[[], None]:
        """Count one more export of `user_id` (429 past `per_user`); call what it returns
        when the export ends."""
        if self.running[user_id] >= self.per_user:
            raise RateLimited(
                f"You have {self.per_user} exports running; wait for one to finish.",
                retry_after=EXPORT_RETRY_SECONDS,
            )
        self.running[user_id] += 1

        def give_back() -> None:
            self.running[user_id] -= 1
            if not self.running[user_id]:
                del self.running[user_id]

        return give_back


class Exports:
    """Starts the exports of one request (``ExportsDep``)."""

    def __init__(self, slots: ExportSlots, database: Database, session: AsyncSession) -> None:
        self.slots = slots
        self.database = database
        self.session = session

    async def start(
        self,
        user_id: int,
        batches: RowBatches,
        *,
        file_format: FileFormat,
        columns: Sequence[str],
        filename: str,
    ) -> ExportResponse:
        """The response streaming every row `batches` yields, holding a slot of
        `user_id`'s (429 when all are taken). Its reading session is taken when it is
        sent, after the request's unit of work, before the first byte: a 503 then, if
        none is free within the pool timeout. Should the unit of work fail after this,
        the slot is given back."""
        resources = AsyncExitStack()
        resources.callback(self.slots.take(user_id))
        after_failure(self.session, resources.aclose)
        return ExportResponse(
            self.database,
            batches,
            file_format=file_format,
            columns=columns,
            resources=resources,
            send_timeout=self.slots.send_timeout,
            headers={"Content-Disposition": f'attachment; filename="{filename}.{file_format}"'},
        )


@documents_errors({429: "rate_limited: this user's exports are all running"})
def get_exports(request: Request, database: DatabaseDep, session: SessionDep) -> Exports:
    slots: ExportSlots = request.app.state.export_slots
    return Exports(slots, database, session)


ExportsDep = Annotated[Exports, Depends(get_exports)]
