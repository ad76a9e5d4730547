"""POST /api/v1/users: registration, validation, conflicts."""

import asyncio

import httpx
import pytest

from tests.factories import PASSWORD, Accounts

PRIVATE_FIELDS = {
    "id",
    "email",
    "username",
    "full_name",
    "is_active",
    "is_superuser",
    "created_at",
    "updated_at",
}


def registration(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {"email": "ada@example.com", "username": "ada", "password": PASSWORD}
    body.update(overrides)
    return body


async def test_registration_returns_the_private_view_with_normalized_names(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/users",
        json=registration(email="Ada@Example.COM", username="Ada_L", full_name="Ada Lovelace"),
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == PRIVATE_FIELDS
    assert body["email"] == "ada@example.com"
    assert body["username"] == "ada_l"
    assert body["full_name"] == "Ada Lovelace"
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert body["created_at"].endswith("Z")
    assert PASSWORD not in response.text
    assert "argon2" not in response.text


@pytest.mark.parametrize(
    ("second", "code"),
    [
        ({"email": "ADA@example.com", "username": "other"}, "email_taken"),
        ({"email": "other@example.com", "username": "ADA"}, "username_taken"),
    ],
)
async def test_taken_email_or_username_is_a_409_whatever_the_case(
    client: httpx.AsyncClient, second: dict[str, str], code: str
) -> None:
    assert (await client.post("/api/v1/users", json=registration())).status_code == 201
    response = await client.post("/api/v1/users", json=registration(**second))
    assert response.status_code == 409
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (registration(password="short7!"), "password"),
        (registration(password="x" * 129), "password"),
        (registration(email="not-an-email"), "email"),
        (registration(username="ad"), "username"),
        (registration(username="ada@home"), "username"),
        (registration(username="ädä"), "username"),
        (registration(username=42), "username"),
        (registration(full_name="x" * 10_000), "full_name"),
        (registration(full_name="nul\x00byte"), "full_name"),
        (registration(password="nul\x00byte-password"), "password"),
        (registration(is_superuser=True), "is_superuser"),
        ({"email": "ada@example.com", "password": PASSWORD}, "username"),
    ],
)
async def test_invalid_registrations_are_422_and_store_nothing(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await client.post("/api/v1/users", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert field in {error["loc"][-1] for error in response.json()["detail"]}
    # Nothing was stored: the valid version of the same registration still succeeds.
    assert (await client.post("/api/v1/users", json=registration())).status_code == 201


async def test_validation_errors_do_not_echo_the_password(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/users", json=registration(password="hunter2"))
    assert response.status_code == 422
    assert "hunter2" not in response.text


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"email": "ada@example.com", ', "application/json"),
        (b"\xff\xfe not utf-8", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"email=ada@example.com", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
    ],
)
async def test_malformed_bodies_are_4xx(
    client: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    response = await client.post(
        "/api/v1/users", content=content, headers={"content-type": content_type}
    )
    assert 400 <= response.status_code < 500
    assert {"detail", "code"} <= set(response.json())


async def test_a_deleted_users_email_and_username_stay_reserved(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    gone = await accounts.user("gone")
    deleted = await client.delete(f"/api/v1/users/{gone.id}", headers=gone.headers)
    assert deleted.status_code == 204
    again = await client.post(
        "/api/v1/users", json=registration(email=gone.email, username="fresh")
    )
    assert again.json()["code"] == "email_taken"
    again = await client.post(
        "/api/v1/users", json=registration(email="fresh@example.com", username=gone.username)
    )
    assert again.json()["code"] == "username_taken"


async def test_concurrent_registrations_with_one_email_give_one_201(
    live_client: httpx.AsyncClient,
) -> None:
    async def register(index: int) -> httpx.Response:
        return await live_client.post(
            "/api/v1/users",
            json=registration(email="Same@Example.com", username=f"racer{index}"),
        )

    responses = await asyncio.gather(*(register(index) for index in range(20)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 19
    conflicts = [r.json()["code"] for r in responses if r.status_code == 409]
    assert set(conflicts) == {"email_taken"}
