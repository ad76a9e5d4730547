"""The wallet's rules, called on the service itself: no HTTP in between."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from agora.config import Settings
from agora.db.session import Database
from agora.kernel.errors import InvalidRecipient
from agora.kernel.principal import Principal
from agora.users.passwords import PasswordHasher
from agora.users.schemas import UserCreate
from agora.users.service import UserService
from agora.wallet.errors import InsufficientFunds
from agora.wallet.models import EntryKind
from agora.wallet.schemas import DepositRequest, LedgerEntryRead, TransferRequest
from agora.wallet.service import WalletService
from tests.factories import PASSWORD

T = TypeVar("T")


async def principal(database: Database, settings: Settings, name: str) -> Principal:
    data = UserCreate(email=f"{name}@example.com", username=name, password=SecretStr(PASSWORD))
    hasher = PasswordHasher.from_settings(settings)

    async def work(session: AsyncSession) -> Principal:
        user = await UserService(session).register(data, hasher)
        return Principal(user.id, user.username, is_superuser=False)

    return await database.run_in_transaction(work)


async def in_wallet(database: Database, work: Callable[[WalletService], Awaitable[T]]) -> T:
    return await database.run_in_transaction(lambda session: work(WalletService(session)))


def transfer(sender: Principal, to: Principal, cents: int) -> Callable[[WalletService], Any]:
    return lambda wallet: wallet.transfer(
        sender, TransferRequest(to_user_id=to.id, amount_cents=cents)
    )


async def test_a_transfer_moves_money_once_and_refuses_what_it_cannot(
    database: Database, settings: Settings
) -> None:
    ada = await principal(database, settings, "ada")
    bob = await principal(database, settings, "bob")
    deposit = DepositRequest(user_id=ada.id, amount_cents=500)
    await in_wallet(database, lambda wallet: wallet.deposit(deposit))
    sent: LedgerEntryRead = await in_wallet(database, transfer(ada, bob, 300))
    assert (sent.kind, sent.amount_cents, sent.to_user_id) == (EntryKind.TRANSFER, 300, bob.id)
    with pytest.raises(InsufficientFunds):
        await in_wallet(database, transfer(ada, bob, 201))
    with pytest.raises(InvalidRecipient):
        await in_wallet(database, transfer(ada, ada, 1))
    for user, cents in [(ada, 200), (bob, 300)]:
        balance = await in_wallet(database, lambda wallet, user=user: wallet.balance(user))
        assert balance.balance_cents == cents
