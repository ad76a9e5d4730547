"""Headers on every answer: nosniff everywhere, no-store on the token endpoint."""

import httpx

from tests.factories import PASSWORD, Accounts

TOKEN = "/api/v1/auth/token"


async def test_every_answer_forbids_type_sniffing(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user()
    answers = [
        await client.get("/api/v1/users/me", headers=ada.headers),  # 200
        await client.get("/api/v1/users/me"),  # 401
        await client.get("/api/v1/nothing-here"),  # 404
        await client.post("/api/v1/users", json={"email": "x"}),  # 422
        await client.post(  # 413, refused by a middleware before any endpoint
            "/api/v1/users", content=b"{}", headers={"content-length": str(10**9)}
        ),
    ]
    assert [answer.status_code for answer in answers] == [200, 401, 404, 422, 413]
    assert {answer.headers.get("x-content-type-options") for answer in answers} == {"nosniff"}
    assert all("cache-control" not in answer.headers for answer in answers)


async def test_no_token_answer_may_be_cached(client: httpx.AsyncClient, accounts: Accounts) -> None:
    ada = await accounts.user()
    answers = [
        await client.post(TOKEN, data={"username": ada.username, "password": PASSWORD}),
        await client.post(TOKEN, data={"username": ada.username, "password": "wrong one"}),
        await client.post(TOKEN, data={"username": ada.username}),
    ]
    assert [answer.status_code for answer in answers] == [200, 401, 422]
    assert {answer.headers.get("cache-control") for answer in answers} == {"no-store"}
