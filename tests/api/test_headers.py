"""Headers on every answer: nosniff everywhere, no-store on the token endpoint."""

import httpx
import pytest

from agora.api.hosts import AllowedHosts, host_name
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
        await client.post(  # 413, refused before the body is read
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


async def test_a_host_not_served_here_is_refused_and_never_reflected(
    client: httpx.AsyncClient,
) -> None:
    forged = await client.get("/api/v1/posts/", headers={"host": "evil.example"})
    assert (forged.status_code, forged.json()["code"]) == (400, "invalid_host")
    assert "evil.example" not in forged.text
    assert "location" not in forged.headers
    served = await client.get("/api/v1/posts/", headers={"host": "agora.test:8000"})
    assert served.status_code == 307
    assert served.headers["location"] == "http://agora.test:8000/api/v1/posts"
    # Orchestrators probe by address: the probes answer whatever the Host.
    assert (await client.get("/healthz", headers={"host": "10.1.2.3:8000"})).status_code == 200


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("api.example.com", True),
        ("API.Example.com:443", True),
        ("example.com", True),
        ("badexample.com", False),
        ("localhost:8000", True),
        ("[::1]:8000", True),
        ("", False),
    ],
)
def test_host_names_are_matched_without_port_or_case(header: str, allowed: bool) -> None:
    hosts = AllowedHosts(["*.example.com", "localhost", "[::1]"])
    assert hosts.allows(host_name(header)) is allowed
