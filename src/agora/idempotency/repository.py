"""All SQL of idempotency keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, select, update

from agora.db.repository import Repository
from agora.db.types import utc_now
from agora.idempotency.models import IdempotencyRecord

if TYPE_CHECKING:
    from datetime import datetime


# Built once (see agora.db.repository).
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
        parameters = {"record_user": user_id, "record_key": key}
        record: IdempotencyRecord = (await self.session.execute(_CLAIMED, parameters)).scalar_one()
        abandoned = record.completed_at is None and record.claimed_at < stale_before
        if abandoned and record.fingerprint == fingerprint and record.claim_token != token:
            await self.update(record, {"claim_token": token, "claimed_at": now})
        return record

    async def complete(self, user_id: int, key: str, token: str, status: int, body: str) -> bool:
        """Store the claimed request's response; False if the claim was lost meanwhile."""
        parameters = {
            **_claim(user_id, key, token),
            "now": utc_now(),
            "status": status,
            "body": body,
        }
        return await self.affected(_COMPLETE, parameters) == 1

    async def release(self, user_id: int, key: str, token: str) -> None:
        """Forget an uncompleted claim, so that a retry runs the request."""
        await self.affected(_RELEASE, _claim(user_id, key, token))

    async def purge(self, claimed_before: datetime) -> int:
        """Delete the keys claimed before `claimed_before`; how many were deleted."""
        statement = delete(IdempotencyRecord).where(IdempotencyRecord.claimed_at < claimed_before)
        return await self.affected(statement)


def _claim(user_id: int, key: str, token: str) -> dict[str, Any]:
    return {"record_user": user_id, "record_key": key, "token": token}
