"""All SQL of idempotency keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from agora.db.repository import Repository
from agora.db.types import utc_now
from agora.idempotency.models import IdempotencyRecord

if TYPE_CHECKING:
    from datetime import datetime


class IdempotencyRepository(Repository[IdempotencyRecord]):
    model = IdempotencyRecord

    async def claim(
        self, user_id: int, key: str, fingerprint: str, token: str, *, stale_before: datetime
    ) -> IdempotencyRecord:
        """The key's record, claimed by `token` unless another request holds it.

        The INSERT skips a key that exists (waiting, if another request is inserting it
        right now, for that one to commit); the locking read then sees the row as
        committed. A claim never completed since `stale_before` was abandoned (its
        request died) and is taken over.
        """
        now = utc_now()
        await self.add_missing(
            [
                {
                    "user_id": user_id,
                    "key": key,
                    "fingerprint": fingerprint,
                    "claim_token": token,
                    "claimed_at": now,
                }
            ]
        )
        statement = (
            select(IdempotencyRecord)
            .where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        record: IdempotencyRecord = (await self.session.execute(statement)).scalar_one()
        abandoned = record.completed_at is None and record.claimed_at < stale_before
        if abandoned and record.fingerprint == fingerprint and record.claim_token != token:
            await self.update(record, {"claim_token": token, "claimed_at": now})
        return record

    async def complete(self, user_id: int, key: str, token: str, status: int, body: str) -> bool:
        """Store the claimed request's response; False if the claim was lost meanwhile."""
        statement = (
            update(IdempotencyRecord)
            .where(*_claimed(user_id, key, token))
            .values(completed_at=utc_now(), response_status=status, response_body=body)
        )
        return await self.affected(statement) == 1

    async def release(self, user_id: int, key: str, token: str) -> None:
        """Forget an uncompleted claim, so that a retry runs the request."""
        statement = delete(IdempotencyRecord).where(
            *_claimed(user_id, key, token), IdempotencyRecord.completed_at.is_(None)
        )
        await self.affected(statement)

    async def purge(self, claimed_before: datetime) -> int:
        """Delete the keys claimed before `claimed_before`; how many were deleted."""
        statement = delete(IdempotencyRecord).where(IdempotencyRecord.claimed_at < claimed_before)
        return await self.affected(statement)


def _claimed(user_id: int, key: str, token: str) -> tuple[Any, ...]:
    return (
        IdempotencyRecord.user_id == user_id,
        IdempotencyRecord.key == key,
        IdempotencyRecord.claim_token == token,
    )
