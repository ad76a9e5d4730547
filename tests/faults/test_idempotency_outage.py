"""A keyed transfer cut short by the database going away: its retry runs, and only once."""

import asyncio
import time

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from agora.api.dependencies import SessionDep
from agora.config import Settings
from agora.db.session import Database
from agora.kernel.principal import Principal
from agora.main import create_app
from agora.wallet.router import get_wallet_service
from agora.wallet.schemas import LedgerEntryRead, TransferRequest
from agora.wallet.service import WalletService
from tests.factories import Accounts
from tests.money import Bank, assert_money_invariants
from tests.postgres_server import PostgresServer


class StopsTheDatabase(WalletService):
    """Transfers during which the database server stops (once)."""

    def __init__(self, session: AsyncSession, server: PostgresServer, once: list[None]) -> None:
        super().__init__(session)
        self.server = server
        self.once = once

    async def transfer(self, sender: Principal, data: TransferRequest) -> LedgerEntryRead:
        if self.once:
            self.once.pop()
            await asyncio.to_thread(self.server.stop)
        return await super().transfer(sender, data)


async def test_the_retry_of_a_transfer_the_outage_cut_short_runs_once(
    server: PostgresServer, fault_settings: Settings, fault_database: Database
) -> None:
    app = create_app(fault_settings, database=fault_database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://agora.test") as client:
        accounts = Accounts(client, fault_database, fault_settings)
        bank = Bank(client, await accounts.admin())
        ada, bob = await accounts.user("ada"), await accounts.user("bob")
        await bank.deposit(ada, 1_000)
        once = [None]

        async def stopping(session: SessionDep) -> WalletService:
            return StopsTheDatabase(session, server, once)

        app.dependency_overrides[get_wallet_service] = stopping
        cut = await bank.transfer(ada, bob, 300, **{"Idempotency-Key": "pay-bob"})
        assert (cut.status_code, cut.json()["code"]) == (503, "database_unavailable")

        await asyncio.to_thread(server.start)
        started = time.monotonic()
        retried = await bank.transfer(ada, bob, 300, **{"Idempotency-Key": "pay-bob"})
        while retried.status_code == 409 and time.monotonic() - started < 5:
            await asyncio.sleep(0.1)
            retried = await bank.transfer(ada, bob, 300, **{"Idempotency-Key": "pay-bob"})
        waited = time.monotonic() - started
        assert retried.status_code == 201, retried.text
        assert "idempotent-replayed" not in retried.headers
        assert waited < 2.0  # the claim was released as soon as the database was back
        again = await bank.transfer(ada, bob, 300, **{"Idempotency-Key": "pay-bob"})
        assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
        assert (await bank.balance(ada), await bank.balance(bob)) == (700, 300)
    await assert_money_invariants(fault_database)
