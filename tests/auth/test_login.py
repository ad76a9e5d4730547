"""POST /api/v1/auth/token and bearer authentication."""

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import select

from agora.config import Settings
from agora.db.session import Database
from agora.users.models import User
from agora.users.passwords import PasswordHasher
from tests.factories import PASSWORD, Accounts, current_session_id

TOKEN = "/api/v1/auth/token"


async def token_response(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await client.post(TOKEN, data={"username": login, "password": password})


@pytest.mark.parametrize("login", ["ada", "ADA", "ada@example.com", "Ada@Example.com"])
async def test_login_by_username_or_email_in_any_case(
    client: httpx.AsyncClient, accounts: Accounts, login: str
) -> None:
    await accounts.user("ada")
    response = await token_response(client, login, PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_expires_in"] == 30 * 86_400
    assert response.headers["cache-control"] == "no-store"
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["username"] == "ada"


async def test_wrong_password_unknown_deleted_and_inactive_users_fail_alike(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    admin = await accounts.admin()
    await accounts.user("wrongpw")
    deleted = await accounts.user("deleted")
    inactive = await accounts.user("inactive")
    await client.delete(f"/api/v1/users/{deleted.id}", headers=deleted.headers)
    patched = await client.patch(
        f"/api/v1/users/{inactive.id}", json={"is_active": False}, headers=admin.headers
    )
    assert patched.status_code == 200

    attempts = [
        ("wrongpw", "not the password"),
        ("nobody", PASSWORD),
        ("deleted", PASSWORD),
        ("inactive", PASSWORD),
    ]
    for login, password in attempts:
        response = await token_response(client, login, password)
        assert response.status_code == 401, login
        assert response.json() == {
            "detail": "Incorrect username, email or password.",
            "code": "invalid_credentials",
        }
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "form",
    [
        {"username": "ada"},
        {"password": PASSWORD},
        {"username": "ada\x00", "password": PASSWORD},
        {"username": "a" * 10_000, "password": PASSWORD},
    ],
)
async def test_malformed_login_forms_are_422(
    client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    response = await client.post(TOKEN, data=form)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def forged_token(settings: Settings, **claims: object) -> str:
    now = datetime.now(UTC)
    payload: dict[str, object] = {
        "sub": "1",
        "sid": 1,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, settings.signing_secret(), algorithm="HS256")


async def test_requests_without_a_token_are_401_with_a_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_bad_tokens_are_refused(
    client: httpx.AsyncClient, accounts: Accounts, settings: Settings
) -> None:
    user = await accounts.user()
    other = await accounts.user()
    sub, sid = str(user.id), await current_session_id(client, user.headers)
    ended = await accounts.login(user.username)
    ended_sid = await current_session_id(client, ended)
    assert (await client.post("/api/v1/auth/logout", headers=ended)).status_code == 204
    past = datetime.now(UTC) - timedelta(hours=2)
    claims = {"sub": sub, "sid": sid, "iat": past, "exp": past + timedelta(days=9)}
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    tokens = {
        "expired": forged_token(
            settings, sub=sub, sid=sid, iat=past, exp=past + timedelta(minutes=5)
        ),
        "alg none": unsigned,
        "alg none, no signature": unsigned.rsplit(".", 1)[0] + ".",
        "other secret": jwt.encode(
            claims, "another-secret-of-32-characters-or-more", algorithm="HS256"
        ),
        "no exp": forged_token(settings, sub=sub, sid=sid, exp=None),
        "no sub": forged_token(settings, sub=None, sid=sid),
        "sub not an id": forged_token(settings, sub="ada", sid=sid),
        "unknown user": forged_token(settings, sub="987654321", sid=sid),
        "no session": forged_token(settings, sub=sub, sid=None),
        "session not an id": forged_token(settings, sub=sub, sid=str(sid)),
        "unknown session": forged_token(settings, sub=sub, sid=987654321),
        "another user's session": forged_token(
            settings, sub=sub, sid=await current_session_id(client, other.headers)
        ),
        "ended session": forged_token(settings, sub=sub, sid=ended_sid),
        "garbage": "not-a-jwt",
    }
    for name, token in tokens.items():
        response = await client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, name
        assert response.json()["code"] == "invalid_token", name
        assert response.headers["www-authenticate"] == "Bearer", name
    valid = forged_token(settings, sub=sub, sid=sid)
    response = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {valid}"})
    assert response.status_code == 200


async def test_a_token_in_use_still_expires_on_time(
    client: httpx.AsyncClient,
    accounts: Accounts,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Verified tokens are remembered (TokenCodec), but their expiry is checked on
    every request: a token that worked a moment ago is refused from its exp second on."""
    user = await accounts.user()
    sid = await current_session_id(client, user.headers)
    now = datetime.now(UTC).replace(microsecond=0)
    token = forged_token(
        settings, sub=str(user.id), sid=sid, iat=now, exp=now + timedelta(minutes=5)
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
    expiry = (now + timedelta(minutes=5)).timestamp()
    monkeypatch.setattr("agora.auth.tokens.time.time", lambda: expiry - 0.001)
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
    monkeypatch.setattr("agora.auth.tokens.time.time", lambda: expiry)
    response = await client.get("/api/v1/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


async def test_tokens_of_deleted_or_deactivated_users_stop_working(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    admin = await accounts.admin()
    deleted = await accounts.user()
    deactivated = await accounts.user()
    await client.delete(f"/api/v1/users/{deleted.id}", headers=deleted.headers)
    await client.patch(
        f"/api/v1/users/{deactivated.id}", json={"is_active": False}, headers=admin.headers
    )
    for account in (deleted, deactivated):
        response = await client.get("/api/v1/users/me", headers=account.headers)
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"


async def test_outdated_hashes_are_upgraded_at_login(
    client: httpx.AsyncClient, accounts: Accounts, database: Database
) -> None:
    user = await accounts.user()
    weaker = PasswordHasher(time_cost=1, memory_cost_kib=16, parallelism=2)
    old_hash = await weaker.hash(PASSWORD)
    async with database.transaction() as session:
        stored = (await session.execute(select(User).where(User.id == user.id))).scalar_one()
        stored.hashed_password = old_hash
    assert (await token_response(client, user.username, PASSWORD)).status_code == 200
    async with database.transaction() as session:
        stored = (await session.execute(select(User).where(User.id == user.id))).scalar_one()
        assert stored.hashed_password != old_hash
        assert "p=1" in stored.hashed_password
