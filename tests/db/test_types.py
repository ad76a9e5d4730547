"""UTCDateTime: aware UTC in and out, microseconds kept, naive values refused."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from agora.users.models import User


async def test_datetimes_come_back_aware_in_utc_with_microseconds(session: AsyncSession) -> None:
    moment = datetime(2026, 3, 1, 23, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    session.add(User(email="t@example.com", username="t", hashed_password="x", created_at=moment))
    await session.commit()
    session.expunge_all()
    stored = (await session.execute(select(User.created_at))).scalar_one()
    assert stored == moment
    assert stored.tzinfo == UTC
    assert (stored.hour, stored.microsecond) == (4, 123456)


async def test_naive_datetimes_are_refused(session: AsyncSession) -> None:
    session.add(
        User(
            email="n@example.com",
            username="n",
            hashed_password="x",
            created_at=datetime(2026, 1, 1),
        )
    )
    with pytest.raises(StatementError, match="naive"):
        await session.flush()
