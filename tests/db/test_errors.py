"""Driver errors read the same way on every dialect."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from agora.db.base import Base
from agora.db.errors import ConstraintViolation, is_retryable, violated_constraint
from agora.users.models import User


def user_row(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    row: dict[str, object] = {
        "email": "ada@example.com",
        "username": "ada",
        "hashed_password": "x",
        "is_active": True,
        "is_superuser": False,
        "created_at": now,
        "updated_at": now,
    }
    row.update(overrides)
    return row


@pytest.mark.parametrize(
    ("duplicate", "constraint"),
    [({"username": "other"}, "uq_users_email"), ({"email": "o@example.com"}, "uq_users_username")],
)
async def test_unique_violations_name_the_constraint(
    connection: AsyncConnection, duplicate: dict[str, str], constraint: str
) -> None:
    await connection.execute(insert(User).values(**user_row()))
    savepoint = await connection.begin_nested()
    with pytest.raises(IntegrityError) as raised:
        await connection.execute(insert(User).values(**user_row(**duplicate)))
    await savepoint.rollback()
    assert violated_constraint(raised.value, Base.metadata) == ConstraintViolation(
        "unique", constraint
    )
    assert not is_retryable(raised.value)


async def test_not_null_violations_are_recognized(connection: AsyncConnection) -> None:
    savepoint = await connection.begin_nested()
    with pytest.raises(IntegrityError) as raised:
        await connection.execute(insert(User).values(**user_row(hashed_password=None)))
    await savepoint.rollback()
    violation = violated_constraint(raised.value, Base.metadata)
    assert violation is not None
    assert violation.kind == "not_null"
