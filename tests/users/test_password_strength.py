"""No guessable passwords: under 10^6 guesses by zxcvbn is 422 `weak_password`, with a hint."""

import httpx
import pytest

from tests.factories import PASSWORD, Accounts


def registration(username: str, password: str) -> dict[str, str]:
    return {"email": f"{username}@example.com", "username": username, "password": password}


@pytest.mark.parametrize(
    "password", ["password", "12345678", "qwertyui", "password1", "iloveyou2", "password" * 16]
)
async def test_common_passwords_are_refused_with_a_hint(
    client: httpx.AsyncClient, password: str
) -> None:
    response = await client.post("/api/v1/users", json=registration("grace", password))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "weak_password"
    assert body["detail"].startswith("This password is too easy to guess.")
    assert len(body["detail"]) > len("This password is too easy to guess.")  # the hint
    if "password" not in password:  # (the word is in the hint itself)
        assert password not in body["detail"]  # the value is never echoed


async def test_a_password_made_of_the_account_s_own_names_is_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/users", json=registration("hopper_grace", "hopper_grace1")
    )
    assert (response.status_code, response.json()["code"]) == (422, "weak_password")


async def test_a_strong_password_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/users", json=registration("grace", PASSWORD))
    assert response.status_code == 201


async def test_a_weak_new_password_changes_nothing(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user("ada")
    response = await client.patch(
        f"/api/v1/users/{ada.id}",
        json={"password": "12345678", "current_password": PASSWORD},
        headers=ada.headers,
    )
    assert (response.status_code, response.json()["code"]) == (422, "weak_password")
    assert await accounts.login("ada", PASSWORD)  # the old password still works
