"""Sessions: refresh-token rotation and reuse detection, logout, the session list, and
the account changes that end sessions."""

import asyncio
import logging
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from agora.db.session import Database
from agora.db.types import utc_now
from agora.users.models import UserSession
from tests.factories import PASSWORD, Accounts, bearer, current_session_id

TOKEN = "/api/v1/auth/token"
SESSIONS = "/api/v1/auth/sessions"
ME = "/api/v1/users/me"
INVALID_GRANT = {
    "detail": "The refresh token is invalid, expired, used up or revoked.",
    "code": "invalid_grant",
}


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


async def me_status(client: httpx.AsyncClient, access_token: str) -> int:
    return (await client.get(ME, headers=bearer(access_token))).status_code


async def test_a_refresh_rotates_the_refresh_token_within_the_session(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    user = await accounts.user()
    first = await accounts.grant(user.username)
    before = (await client.get(SESSIONS, headers=bearer(first["access_token"]))).json()

    response = await refresh(client, first["refresh_token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert set(second) == set(first)
    assert second["token_type"] == "bearer"
    assert second["refresh_token"] != first["refresh_token"]
    assert await me_status(client, second["access_token"]) == 200
    after = (await client.get(SESSIONS, headers=bearer(second["access_token"]))).json()
    # The same session (no new one started), used later and living on from now.
    assert after["total"] == before["total"]
    (was,) = (item for item in before["items"] if item["current"])
    (now,) = (item for item in after["items"] if item["current"])
    assert now["id"] == was["id"]
    assert now["last_used_at"] > was["last_used_at"]
    assert now["expires_at"] > was["expires_at"]

    third = await refresh(client, second["refresh_token"])
    assert third.status_code == 200


async def test_a_used_up_refresh_token_ends_its_whole_session(
    client: httpx.AsyncClient, accounts: Accounts, caplog: pytest.LogCaptureFixture
) -> None:
    """Reuse detection (RFC 9700, 4.14.2): the thief and the client alike are out, and
    the operator is told (without the token)."""
    user = await accounts.user()
    stolen = await accounts.grant(user.username)
    rotated = (await refresh(client, stolen["refresh_token"])).json()

    with caplog.at_level(logging.WARNING, logger="agora.users.sessions"):
        reused = await refresh(client, stolen["refresh_token"])
    assert (reused.status_code, reused.json()) == (400, INVALID_GRANT)
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "agora.users.sessions"]
    assert f"of user {user.id} ended" in warning
    assert stolen["refresh_token"] not in warning
    assert reused.headers["cache-control"] == "no-store"
    for access_token in (stolen["access_token"], rotated["access_token"]):
        response = await client.get(ME, headers=bearer(access_token))
        assert (response.status_code, response.json()["code"]) == (401, "invalid_token")
    assert (await refresh(client, rotated["refresh_token"])).json() == INVALID_GRANT
    assert (await client.get(ME, headers=user.headers)).status_code == 200  # another session


async def test_refresh_tokens_that_cannot_be_used_are_400_invalid_grant(
    client: httpx.AsyncClient, accounts: Accounts, database: Database
) -> None:
    admin = await accounts.admin()
    user = await accounts.user()
    expired = await accounts.grant(user.username)
    logged_out = await accounts.grant(user.username)
    deactivated = await accounts.user()
    deactivated_grant = await accounts.grant(deactivated.username)
    expired_sid = await current_session_id(client, bearer(expired["access_token"]))
    async with database.transaction() as session:
        await session.execute(
            update(UserSession)
            .where(UserSession.id == expired_sid)
            .values(expires_at=utc_now() - timedelta(seconds=1))
        )
    await client.post("/api/v1/auth/logout", headers=bearer(logged_out["access_token"]))
    await client.patch(
        f"/api/v1/users/{deactivated.id}", json={"is_active": False}, headers=admin.headers
    )

    refused = {
        "never issued": "A" * 43,
        "expired session": expired["refresh_token"],
        "logged out": logged_out["refresh_token"],
        "deactivated user": deactivated_grant["refresh_token"],
    }
    for name, token in refused.items():
        response = await refresh(client, token)
        assert (response.status_code, response.json()) == (400, INVALID_GRANT), name
    assert await me_status(client, expired["access_token"]) == 401


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "refresh_token"},
        {"grant_type": "refresh_token", "refresh_token": ""},
        {"grant_type": "refresh_token", "refresh_token": "x" * 129},
        {"grant_type": "client_credentials", "refresh_token": "x"},
        {"grant_type": "password", "username": "ada"},
    ],
)
async def test_malformed_token_requests_are_422_without_tokens(
    client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    response = await client.post(TOKEN, data=form)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert response.headers["cache-control"] == "no-store"


async def test_the_docs_page_signs_in_as_swagger_ui_does(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    """Swagger UI's password flow: the token URL of the OpenAPI document, a form with
    grant_type, an empty scope and client id, and the bearer token it gets back."""
    user = await accounts.user()
    schemes = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
    (scheme,) = schemes.values()
    token_url = scheme["flows"]["password"]["tokenUrl"]
    form = {
        "grant_type": "password",
        "username": user.username,
        "password": PASSWORD,
        "scope": "",
        "client_id": "",
    }
    response = await client.post(token_url, data=form)
    assert response.status_code == 200
    assert await me_status(client, response.json()["access_token"]) == 200


async def test_logout_ends_the_callers_session_only(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    user = await accounts.user()
    leaving = await accounts.grant(user.username)
    response = await client.post("/api/v1/auth/logout", headers=bearer(leaving["access_token"]))
    assert response.status_code == 204
    after = await client.get(ME, headers=bearer(leaving["access_token"]))
    assert (after.status_code, after.json()["code"]) == (401, "invalid_token")
    assert (await refresh(client, leaving["refresh_token"])).json() == INVALID_GRANT
    assert (await client.get(ME, headers=user.headers)).status_code == 200
    assert (await client.post("/api/v1/auth/logout")).status_code == 401


async def test_the_session_list_shows_the_callers_live_sessions_newest_first(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    user = await accounts.user()  # signed in once by the factory, with httpx's agent
    phone = await accounts.grant(user.username, headers={"User-Agent": "Phone/1.0"})
    long_agent = "Laptop/2.0 " + "x" * 400
    laptop = await accounts.grant(user.username, headers={"User-Agent": long_agent})
    ended = await accounts.grant(user.username)
    await client.post("/api/v1/auth/logout", headers=bearer(ended["access_token"]))
    other = await accounts.user()

    response = await client.get(SESSIONS, headers=bearer(phone["access_token"]))
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["offset"]) == (3, 0)
    items = body["items"]
    assert [item["user_agent"] for item in items] == [
        long_agent[:255],
        "Phone/1.0",
        f"python-httpx/{httpx.__version__}",
    ]
    assert [item["current"] for item in items] == [False, True, False]
    assert set(items[0]) == {
        "id",
        "created_at",
        "last_used_at",
        "expires_at",
        "user_agent",
        "current",
    }
    created = [item["created_at"] for item in items]
    assert created == sorted(created, reverse=True)
    mine = {item["id"] for item in items}
    theirs = (await client.get(SESSIONS, headers=other.headers)).json()["items"]
    assert len(theirs) == 1
    assert theirs[0]["id"] not in mine
    first_page = {"limit": 1}
    paged = await client.get(SESSIONS, params=first_page, headers=bearer(laptop["access_token"]))
    assert [item["current"] for item in paged.json()["items"]] == [True]
    assert paged.json()["next_cursor"] is not None


async def test_ending_one_session_by_id(client: httpx.AsyncClient, accounts: Accounts) -> None:
    user, other = await accounts.user(), await accounts.user()
    second = await accounts.grant(user.username)
    second_sid = await current_session_id(client, bearer(second["access_token"]))
    other_sid = await current_session_id(client, other.headers)

    for session_id in (other_sid, 987654321):
        response = await client.delete(f"{SESSIONS}/{session_id}", headers=user.headers)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert (await client.get(ME, headers=other.headers)).status_code == 200

    response = await client.delete(f"{SESSIONS}/{second_sid}", headers=user.headers)
    assert response.status_code == 204
    assert await me_status(client, second["access_token"]) == 401
    assert (await refresh(client, second["refresh_token"])).json() == INVALID_GRANT
    again = await client.delete(f"{SESSIONS}/{second_sid}", headers=user.headers)
    assert again.status_code == 404
    assert (await client.get(ME, headers=user.headers)).status_code == 200


async def test_ending_every_other_session(client: httpx.AsyncClient, accounts: Accounts) -> None:
    user, other = await accounts.user(), await accounts.user()
    grants = [await accounts.grant(user.username) for _ in range(3)]
    keeping = bearer(grants[0]["access_token"])

    assert (await client.delete(SESSIONS, headers=keeping)).status_code == 204
    assert (await client.get(ME, headers=keeping)).status_code == 200
    for grant in grants[1:]:
        assert await me_status(client, grant["access_token"]) == 401
        assert (await refresh(client, grant["refresh_token"])).json() == INVALID_GRANT
    assert (await client.get(ME, headers=other.headers)).status_code == 200
    listed = (await client.get(SESSIONS, headers=keeping)).json()
    assert [item["current"] for item in listed["items"]] == [True]
    assert (await refresh(client, grants[0]["refresh_token"])).status_code == 200


NEW_PASSWORD = "a new passphrase, long"


@pytest.mark.parametrize(
    ("change", "others_after"),
    [({"password": NEW_PASSWORD}, 401), ({"email": "new@example.com"}, 200)],
    ids=["password", "email"],
)
async def test_a_password_change_ends_every_other_session_an_email_change_none(
    client: httpx.AsyncClient, accounts: Accounts, change: dict[str, str], others_after: int
) -> None:
    user = await accounts.user()
    laptop = await accounts.grant(user.username)
    response = await client.patch(
        f"/api/v1/users/{user.id}",
        json={**change, "current_password": PASSWORD},
        headers=user.headers,
    )
    assert response.status_code == 200
    assert (await client.get(ME, headers=user.headers)).status_code == 200  # the one changing
    assert await me_status(client, laptop["access_token"]) == others_after
    if others_after == 401:
        assert (await refresh(client, laptop["refresh_token"])).json() == INVALID_GRANT
        await accounts.grant(user.username, NEW_PASSWORD)


async def test_an_admin_setting_a_password_ends_all_of_the_users_sessions(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    admin, user = await accounts.admin(), await accounts.user()
    response = await client.patch(
        f"/api/v1/users/{user.id}",
        json={"password": "set by the admin, long"},
        headers=admin.headers,
    )
    assert response.status_code == 200
    assert (await client.get(ME, headers=user.headers)).status_code == 401
    assert (await client.get(ME, headers=admin.headers)).status_code == 200


async def test_deactivation_and_deletion_end_every_session_for_good(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    admin = await accounts.admin()
    paused, leaving = await accounts.user(), await accounts.user()
    paused_grant = await accounts.grant(paused.username)
    leaving_grant = await accounts.grant(leaving.username)
    user_url = f"/api/v1/users/{paused.id}"

    await client.patch(user_url, json={"is_active": False}, headers=admin.headers)
    await client.patch(user_url, json={"is_active": True}, headers=admin.headers)
    # Active again, but what was signed in before stays signed out.
    assert (await client.get(ME, headers=paused.headers)).status_code == 401
    assert (await refresh(client, paused_grant["refresh_token"])).json() == INVALID_GRANT
    await accounts.grant(paused.username)

    deleted = await client.delete(f"/api/v1/users/{leaving.id}", headers=leaving.headers)
    assert deleted.status_code == 204
    assert await me_status(client, leaving_grant["access_token"]) == 401
    assert (await refresh(client, leaving_grant["refresh_token"])).json() == INVALID_GRANT


async def test_of_concurrent_refreshes_with_one_token_exactly_one_succeeds(
    live_accounts: Accounts, live_client: httpx.AsyncClient
) -> None:
    """The database decides which one uses the token up. The others present a used-up
    token: there is no grace period (agora.users.sessions), so the session ends."""
    user = await live_accounts.user()
    for _ in range(5):
        grant = await live_accounts.grant(user.username)
        answers = await asyncio.gather(
            *(refresh(live_client, grant["refresh_token"]) for _ in range(4))
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200, 400, 400, 400]
        assert all(a.json() == INVALID_GRANT for a in answers if a.status_code == 400)
        (winner,) = (answer.json() for answer in answers if answer.status_code == 200)
        assert await me_status(live_client, winner["access_token"]) == 401
        assert (await refresh(live_client, winner["refresh_token"])).json() == INVALID_GRANT
    assert (await live_client.get(ME, headers=user.headers)).status_code == 200
