"""The generic repository's own reads, on a real table of each database."""

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agora.db.keyset import Ordering
from agora.kernel.errors import NotFound
from agora.kernel.pages import PageRequest
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


async def test_the_vocabulary_filters_and_hides_soft_deleted_rows(session: AsyncSession) -> None:
    users = UserRepository(session)
    names = ["cy", "ada", "bob"]
    for name in names:
        await users.add(User(email=f"{name}@example.com", username=name, hashed_password="x"))
    bob = await users.get_one(User.username == "bob")
    await users.delete(bob)

    assert [user.username for user in await users.list(order_by=[User.username])] == ["ada", "cy"]
    assert await users.count() == 2
    assert await users.count(include_deleted=True) == 3
    assert await users.exists(User.username == "ada")
    assert not await users.exists(User.username == "bob")
    assert await users.get_one_or_none(User.username == "bob") is None
    with pytest.raises(NotFound):
        await users.get_one(User.username == "bob")
    by_name = Ordering("users:-username", User.username.desc())
    page = await users.list_and_count(ordering=by_name, page=PageRequest(1))
    assert ([user.username for user in page.items], page.total) == (["cy"], 2)
    assert page.next is not None
    rest = await users.list_and_count(ordering=by_name, page=PageRequest(5, after=page.next))
    assert ([user.username for user in rest.items], rest.total, rest.next) == (["ada"], None, None)
