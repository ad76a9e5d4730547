"""``app.dependency_overrides`` reaches every route, as in any FastAPI app."""

import httpx
from fastapi import FastAPI

from agora.api.dependencies import SessionDep
from agora.api.security import current_user, optional_user
from agora.kernel.principal import Principal
from agora.wallet.router import get_wallet_service
from agora.wallet.schemas import Balance
from agora.wallet.service import WalletService
from tests.factories import Accounts


async def test_the_caller_can_be_overridden(
    app: FastAPI, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user("ada")
    app.dependency_overrides[current_user] = lambda: Principal(ada.id, "ada", is_superuser=False)
    try:
        me = await client.get("/api/v1/users/me")  # no token at all
    finally:
        app.dependency_overrides.clear()
    assert me.status_code == 200
    assert me.json()["username"] == "ada"
    assert (await client.get("/api/v1/users/me")).status_code == 401


async def test_an_anonymous_endpoint_sees_an_overridden_optional_caller(
    app: FastAPI, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    author = await accounts.user("author")
    draft = await client.post(
        "/api/v1/posts",
        json={"title": "t", "content": "c", "is_published": False},
        headers=author.headers,
    )
    path = f"/api/v1/posts/{draft.json()['id']}"
    assert (await client.get(path)).status_code == 404
    app.dependency_overrides[optional_user] = lambda: Principal(
        author.id, author.username, is_superuser=False
    )
    try:
        assert (await client.get(path)).status_code == 200
    finally:
        app.dependency_overrides.clear()


class GenerousWallet(WalletService):
    async def balance(self, user: Principal) -> Balance:
        return Balance(balance_cents=4_200)


async def test_a_service_can_be_overridden(
    app: FastAPI, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user("ada")

    async def generous_wallet(session: SessionDep) -> WalletService:
        return GenerousWallet(session)

    app.dependency_overrides[get_wallet_service] = generous_wallet
    try:
        balance = await client.get("/api/v1/wallet", headers=ada.headers)
    finally:
        app.dependency_overrides.clear()
    assert balance.json() == {"balance_cents": 4_200}
    assert (await client.get("/api/v1/wallet", headers=ada.headers)).json() == {"balance_cents": 0}
