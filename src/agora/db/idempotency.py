"""Idempotency keys, as a step of the unit of work: a write with a key runs at most once.

A unit of work that carries a key (`run_once`) has three steps, and these transaction
boundaries:

1. **Claim.** The key's record is inserted, or found, under a row lock. A record this
   request now holds is COMMITTED at once, on the unit's own session and connection, so
   that a concurrent retry sees it and is told 409 ``idempotency_in_progress`` instead of
   running the operation a second time. (The same connection, not a second one: a
   request never holds two pooled connections, and SQLite's single writer would wait on
   itself.) A completed record is replayed instead; a different request under the same
   key is 422 ``idempotency_key_reused``.
2. **Run.** The operation runs in the unit's transaction, which is now the next one.
3. **Record.** Its outcome is stored in that same transaction, so the change and its
   recorded answer are kept together or not at all. A refusal by the business rules
   (409 ``insufficient_funds``, ...) is an outcome too: what it wrote is rolled back
   first, then the refusal is stored, and a retry gets the same answer.

A unit that ends any other way (an error, a 503, a COMMIT whose outcome is unknown, a
cancellation) releases the claim once its session is back in the pool, in a transaction
of its own (`after_failure`), so that a retry runs the operation; the release deletes
only a claim that was never completed, so after a COMMIT that did happen the retry gets
the stored answer. While the database is unavailable, the release is tried again in the
background until it answers. A claim is tied to its request's `token`, which stays the
same when the unit of work is re-run after a deadlock: the re-run finds its own claim
and goes on. A claim whose process died without releasing it is taken over after
`STALE_CLAIM_SECONDS`. Keys are kept until purged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeGuard

from sqlalchemy import ForeignKey, Integer, String, Text, bindparam, delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from agora.db.base import Base, Timestamp
from agora.db.errors import IdempotencyInProgress, IdempotencyKeyReused
from agora.db.repository import Repository
from agora.db.session import after_failure
from agora.db.types import BigId, UTCDateTime, utc_now
from agora.kernel.errors import DomainError, ServiceUnavailable
from agora.telemetry.metrics import IDEMPOTENT_REPLAYS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

KEY_MAX_LENGTH = 255
STALE_CLAIM_SECONDS = 60
# How often a release is tried again while the database is unavailable.
RELEASE_RETRY_SECONDS = 0.25
# Releases still waiting for the database (strong references: a task nobody holds may be
# collected before it is done).
_pending_releases: set[asyncio.Task[None]] = set()


class IdempotencyRecord(Base):
    """One key of one user: claimed by a request (its `claim_token`), then completed
    with the outcome that request had."""

    __tablename__ = "idempotency_records"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), primary_key=True)
    # A digest of the request: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    claim_token: Mapped[str] = mapped_column(String(32))
    claimed_at: Mapped[Timestamp] = mapped_column(default=utc_now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an operation answered: a status and a JSON body (`replayed` when it is the
    stored answer of an earlier request)."""

    status: int
    body: str
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A key as one request presents it."""

    user_id: int
    key: str
    fingerprint: str  # the request's digest
    token: str  # the request's own, the same across re-runs of its unit of work


_RECORD = (
    IdempotencyRecord.user_id == bindparam("record_user"),
    IdempotencyRecord.key == bindparam("record_key"),
)
_CLAIMED = (
    select(IdempotencyRecord)
    .where(*_RECORD)
    .with_for_update()
    .execution_options(populate_existing=True)
)
_BY_TOKEN = (*_RECORD, IdempotencyRecord.claim_token == bindparam("token"))
_COMPLETE = (
    update(IdempotencyRecord)
    .where(*_BY_TOKEN)
    .values(
        completed_at=bindparam("now"),
        response_status=bindparam("status"),
        response_body=bindparam("body"),
    )
)
_RELEASE = delete(IdempotencyRecord).where(*_BY_TOKEN, IdempotencyRecord.completed_at.is_(None))


class IdempotencyRepository(Repository[IdempotencyRecord]):
    model = IdempotencyRecord

    async def claim(self, key: IdempotencyKey, *, stale_before: datetime) -> IdempotencyRecord:
        """The key's record, claimed by `key.token` unless another request holds it.

        The INSERT skips a key that exists (waiting, if another request is inserting it
        right now, for that one to commit); the locking read then sees the row as
        committed. A claim never completed since `stale_before` was abandoned (its
        request died) and is taken over.
        """
        now = utc_now()
        await self.add_missing(
            [
                {
                    "user_id": key.user_id,
                    "key": key.key,
                    "fingerprint": key.fingerprint,
                    "claim_token": key.token,
                    "claimed_at": now,
                }
            ]
        )
        result = await self.session.execute(_CLAIMED, _record(key))
        record: IdempotencyRecord = result.scalar_one()
        abandoned = record.completed_at is None and record.claimed_at < stale_before
        if abandoned and record.fingerprint == key.fingerprint and record.claim_token != key.token:
            await self.update(record, {"claim_token": key.token, "claimed_at": now})
        return record

    async def complete(self, key: IdempotencyKey, outcome: Outcome) -> bool:
        """Store the claimed request's outcome; False if the claim was lost meanwhile."""
        parameters = {
            **_record(key),
            "token": key.token,
            "now": utc_now(),
            "status": outcome.status,
            "body": outcome.body,
        }
        return await self.affected(_COMPLETE, parameters) == 1

    async def release(self, key: IdempotencyKey) -> None:
        """Forget an uncompleted claim, so that a retry runs the request."""
        await self.affected(_RELEASE, {**_record(key), "token": key.token})

    async def purge(self, claimed_before: datetime) -> int:
        """Delete the keys claimed before `claimed_before`; how many were deleted."""
        statement = delete(IdempotencyRecord).where(IdempotencyRecord.claimed_at < claimed_before)
        return await self.affected(statement)


def _is_refusal(error: BaseException) -> TypeGuard[DomainError]:
    """A business rule's answer, which a retry would get again; not a temporary
    condition (503), after which a retry should run the operation."""
    return isinstance(error, DomainError) and not isinstance(error, ServiceUnavailable)


def _record(key: IdempotencyKey) -> dict[str, Any]:
    return {"record_user": key.user_id, "record_key": key.key}


async def run_once(
    session: AsyncSession,
    key: IdempotencyKey,
    operation: Callable[[], Awaitable[Outcome]],
    refused: Callable[[DomainError], Outcome],
) -> Outcome:
    """`operation`'s outcome, or the one an earlier request with `key` had; the steps
    and their transactions are described at the top of this module. `refused` turns a
    refusal by the business rules into the outcome that is stored for it."""
    records = IdempotencyRepository(session)
    stale_before = utc_now() - timedelta(seconds=STALE_CLAIM_SECONDS)
    record = await records.claim(key, stale_before=stale_before)
    if record.fingerprint != key.fingerprint:
        raise IdempotencyKeyReused
    if record.completed_at is not None:
        assert record.response_status is not None
        assert record.response_body is not None
        IDEMPOTENT_REPLAYS.inc()
        return Outcome(record.response_status, record.response_body, replayed=True)
    if record.claim_token != key.token:
        raise IdempotencyInProgress
    await session.commit()  # step 1 ends: concurrent retries now see the claim
    assert session.bind is not None
    bind = session.bind
    after_failure(session, lambda: release_claim(bind, key))
    try:
        outcome = await operation()
    except BaseException as error:
        if not _is_refusal(error):
            raise
        await session.rollback()  # nothing the refused operation wrote is kept...
        outcome = refused(error)  # ...but its answer is
    if not await records.complete(key, outcome):
        raise IdempotencyInProgress  # our claim went stale and was taken over
    return outcome


async def release_claim(bind: AsyncEngine | AsyncConnection, key: IdempotencyKey) -> None:
    """Forget the claim of a request whose unit of work failed, so that a retry runs; in
    the background, again and again, while the database is unavailable."""
    if not await _try_release(bind, key):
        task = asyncio.create_task(_release_when_possible(bind, key))
        _pending_releases.add(task)
        task.add_done_callback(_pending_releases.discard)


async def _release_when_possible(bind: AsyncEngine | AsyncConnection, key: IdempotencyKey) -> None:
    # Past the stale age, a retry takes the claim over anyway.
    give_up = time.monotonic() + STALE_CLAIM_SECONDS
    while time.monotonic() < give_up:
        await asyncio.sleep(RELEASE_RETRY_SECONDS)
        if await _try_release(bind, key):
            return
    logger.warning("gave up releasing idempotency key %r of user %s", key.key, key.user_id)


async def _try_release(bind: AsyncEngine | AsyncConnection, key: IdempotencyKey) -> bool:
    try:
        async with AsyncSession(bind) as session, session.begin():
            await IdempotencyRepository(session).release(key)
    except (DBAPIError, OSError, PoolTimeout) as error:
        logger.warning("could not release idempotency key %r yet: %s", key.key, error)
        return False
    return True
