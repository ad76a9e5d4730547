"""The generic repository's own reads, on a real table of each database."""

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kernel.errors import NotFound
from agora.users.models import User
from agora.users.repository import UserRepository


async def test_get_row_answers_the_stored_columns(session: AsyncSession) -> None:
    user = User(email="ada@example.com", username="ada", hashed_password="x", full_name="Ada")
    session.add(user)
    await session.flush()
    row = await UserRepository(session).get_row(user.id)
    assert (row.id, row.username, row.full_name, row.email) == (user.id, "ada", "Ada", user.email)
    assert row.created_at == user.created_at
    assert row.created_at.utcoffset() is not None, "timestamps come back with their zone"


async def test_get_row_does_not_see_missing_or_soft_deleted_rows(session: AsyncSession) -> None:
    users = UserRepository(session)
    user = await users.add(User(email="bob@example.com", username="bob", hashed_password="x"))
    await users.delete(user)
    with pytest.raises(NotFound):
        await users.get_row(user.id)
    with pytest.raises(NotFound):
        await users.get_row(user.id + 1000)
