"""The accounts rules, called on the service itself: no HTTP in between."""

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from agora.config import Settings
from agora.db.session import Database
from agora.kernel.errors import Forbidden
from agora.kernel.principal import Principal
from agora.users.errors import InvalidCredentials, NotYourAccount
from agora.users.passwords import PasswordHasher
from agora.users.schemas import UserCreate, UserPrivate, UserPublic, UserUpdate
from agora.users.service import UserService
from tests.factories import PASSWORD


async def register(database: Database, settings: Settings, name: str, **admin: bool) -> Principal:
    data = UserCreate(email=f"{name}@example.com", username=name, password=SecretStr(PASSWORD))
    hasher = PasswordHasher.from_settings(settings)

    async def work(session: AsyncSession) -> UserPrivate:
        return await UserService(session).register(data, hasher, **admin)

    user = await database.run_in_transaction(work)
    return Principal(user.id, user.username, user.is_superuser)


async def test_the_view_of_an_account_depends_on_who_asks(
    database: Database, settings: Settings
) -> None:
    ada = await register(database, settings, "ada")
    bob = await register(database, settings, "bob")
    root = await register(database, settings, "root", is_superuser=True)

    async def views(session: AsyncSession) -> list[type[UserPublic]]:
        users = UserService(session)
        return [type(await users.read(actor, ada.id)) for actor in (ada, bob, root)]

    assert await database.run_in_transaction(views) == [UserPrivate, UserPublic, UserPrivate]


async def test_only_admins_change_account_states_and_nobody_changes_another(
    database: Database, settings: Settings
) -> None:
    ada = await register(database, settings, "ada")
    bob = await register(database, settings, "bob")
    hasher = PasswordHasher.from_settings(settings)

    async def deactivate(actor: Principal, user: Principal) -> None:
        async def work(session: AsyncSession) -> None:
            await UserService(session).update(actor, user.id, UserUpdate(is_active=False), hasher)

        await database.run_in_transaction(work)

    with pytest.raises(Forbidden):
        await deactivate(ada, ada)
    with pytest.raises(NotYourAccount):
        await deactivate(bob, ada)


async def test_credentials_open_only_an_active_account_with_its_password(
    database: Database, settings: Settings
) -> None:
    ada = await register(database, settings, "ada")
    root = await register(database, settings, "root", is_superuser=True)
    hasher = PasswordHasher.from_settings(settings)

    async def check(login: str, password: str) -> Principal:
        async def work(session: AsyncSession) -> Principal:
            return await UserService(session).check_credentials(login, password, hasher)

        return await database.run_in_transaction(work)

    assert await check("ADA@example.com", PASSWORD) == ada
    for login, password in [("ada", "wrong password"), ("nobody", PASSWORD)]:
        with pytest.raises(InvalidCredentials):
            await check(login, password)

    async def deactivate(session: AsyncSession) -> None:
        await UserService(session).update(root, ada.id, UserUpdate(is_active=False), hasher)

    await database.run_in_transaction(deactivate)
    with pytest.raises(InvalidCredentials):
        await check("ada", PASSWORD)
