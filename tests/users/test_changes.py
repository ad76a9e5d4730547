"""PATCH and DELETE /api/v1/users/{id}: partial updates, permissions, soft delete."""

import httpx
import pytest

from agora.config import Settings
from agora.db.session import Database
from tests.factories import PASSWORD, Accounts, app_client


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user("ada", full_name="Ada")
    before = (await client.get("/api/v1/users/me", headers=ada.headers)).json()
    response = await client.patch(
        f"/api/v1/users/{ada.id}", json={"full_name": "Ada Lovelace"}, headers=ada.headers
    )
    assert response.status_code == 200
    after = response.json()
    assert after["full_name"] == "Ada Lovelace"
    for unchanged in ("email", "username", "is_active", "is_superuser", "created_at"):
        assert after[unchanged] == before[unchanged]
    assert after["updated_at"] > before["updated_at"]
    assert (await client.get("/api/v1/users/me", headers=ada.headers)).json() == after


async def test_an_empty_patch_changes_nothing(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user("ada", full_name="Ada")
    before = (await client.get("/api/v1/users/me", headers=ada.headers)).json()
    response = await client.patch(f"/api/v1/users/{ada.id}", json={}, headers=ada.headers)
    assert response.json() == before


async def test_full_name_can_be_cleared_but_email_cannot_be_null(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user("ada", full_name="Ada")
    cleared = await client.patch(
        f"/api/v1/users/{ada.id}", json={"full_name": None}, headers=ada.headers
    )
    assert cleared.json()["full_name"] is None
    for field in ("email", "username", "password", "is_active"):
        refused = await client.patch(
            f"/api/v1/users/{ada.id}", json={field: None}, headers=ada.headers
        )
        assert refused.status_code == 422, field


async def test_email_and_username_changes_are_normalized_and_checked_for_conflicts(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada, bob = await accounts.user("ada"), await accounts.user("bob")
    changed = await client.patch(
        f"/api/v1/users/{ada.id}",
        json={"email": "Ada.New@Example.com", "username": "Ada_New", "current_password": PASSWORD},
        headers=ada.headers,
    )
    assert changed.status_code == 200
    assert (changed.json()["email"], changed.json()["username"]) == (
        "ada.new@example.com",
        "ada_new",
    )
    taken = await client.patch(
        f"/api/v1/users/{ada.id}",
        json={"email": "BOB@example.com", "current_password": PASSWORD},
        headers=ada.headers,
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "email_taken")
    taken = await client.patch(
        f"/api/v1/users/{ada.id}", json={"username": bob.username}, headers=ada.headers
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "username_taken")
    unchanged = await client.get("/api/v1/users/me", headers=ada.headers)
    assert unchanged.json()["email"] == "ada.new@example.com"


async def test_a_new_password_replaces_the_old_one(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user("ada")
    response = await client.patch(
        f"/api/v1/users/{ada.id}",
        json={"password": "a brand new secret", "current_password": PASSWORD},
        headers=ada.headers,
    )
    assert response.status_code == 200
    assert "a brand new secret" not in response.text
    assert "hashed_password" not in response.text
    old = await client.post("/api/v1/auth/token", data={"username": "ada", "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post(
        "/api/v1/auth/token", data={"username": "ada", "password": "a brand new secret"}
    )
    assert new.status_code == 200


async def test_nobody_patches_or_deletes_another_user(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada, bob = await accounts.user("ada"), await accounts.user("bob")
    patched = await client.patch(
        f"/api/v1/users/{bob.id}", json={"full_name": "Hacked"}, headers=ada.headers
    )
    assert (patched.status_code, patched.json()["code"]) == (403, "forbidden")
    deleted = await client.delete(f"/api/v1/users/{bob.id}", headers=ada.headers)
    assert (deleted.status_code, deleted.json()["code"]) == (403, "forbidden")
    bob_now = (await client.get("/api/v1/users/me", headers=bob.headers)).json()
    assert bob_now["full_name"] is None


async def test_anonymous_patch_and_delete_are_401(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user()
    assert (await client.patch(f"/api/v1/users/{ada.id}", json={})).status_code == 401
    assert (await client.delete(f"/api/v1/users/{ada.id}")).status_code == 401


async def test_users_cannot_make_themselves_admin_or_reactivate(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user("ada")
    escalate = await client.patch(
        f"/api/v1/users/{ada.id}", json={"is_superuser": True}, headers=ada.headers
    )
    assert escalate.status_code == 422
    active = await client.patch(
        f"/api/v1/users/{ada.id}", json={"is_active": True}, headers=ada.headers
    )
    assert (active.status_code, active.json()["code"]) == (403, "forbidden")
    me = (await client.get("/api/v1/users/me", headers=ada.headers)).json()
    assert me["is_superuser"] is False


async def test_admins_change_and_deactivate_other_users(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    admin, bob = await accounts.admin(), await accounts.user("bob")
    response = await client.patch(
        f"/api/v1/users/{bob.id}",
        json={"full_name": "Robert", "is_active": False},
        headers=admin.headers,
    )
    assert response.status_code == 200
    assert (response.json()["full_name"], response.json()["is_active"]) == ("Robert", False)
    escalate = await client.patch(
        f"/api/v1/users/{bob.id}", json={"is_superuser": True}, headers=admin.headers
    )
    assert escalate.status_code == 422


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_changing_a_missing_user_is_404(
    client: httpx.AsyncClient, accounts: Accounts, method: str
) -> None:
    admin = await accounts.admin()
    response = await client.request(
        method,
        "/api/v1/users/987654321",
        json={} if method == "PATCH" else None,
        headers=admin.headers,
    )
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


async def test_unknown_fields_in_a_patch_are_422(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user()
    response = await client.patch(
        f"/api/v1/users/{ada.id}", json={"nickname": "x"}, headers=ada.headers
    )
    assert response.status_code == 422


async def test_self_delete_is_a_soft_delete(client: httpx.AsyncClient, accounts: Accounts) -> None:
    ada, bob, admin = await accounts.user("ada"), await accounts.user("bob"), await accounts.admin()
    response = await client.delete(f"/api/v1/users/{ada.id}", headers=ada.headers)
    assert response.status_code == 204
    assert response.content == b""
    login = await client.post("/api/v1/auth/token", data={"username": "ada", "password": PASSWORD})
    assert login.status_code == 401
    assert (await client.get(f"/api/v1/users/{ada.id}", headers=bob.headers)).status_code == 404
    assert (await client.get(f"/api/v1/users/{ada.id}", headers=admin.headers)).status_code == 404
    listed = (await client.get("/api/v1/users", headers=admin.headers)).json()
    assert ada.id not in [item["id"] for item in listed["items"]]
    again = await client.delete(f"/api/v1/users/{ada.id}", headers=admin.headers)
    assert again.status_code == 404


async def test_admins_delete_other_users(client: httpx.AsyncClient, accounts: Accounts) -> None:
    admin, bob = await accounts.admin(), await accounts.user("bob")
    assert (
        await client.delete(f"/api/v1/users/{bob.id}", headers=admin.headers)
    ).status_code == 204
    assert (await client.get("/api/v1/users/me", headers=bob.headers)).status_code == 401


@pytest.mark.parametrize(
    "change", [{"password": "a brand new secret"}, {"email": "new@example.com"}]
)
@pytest.mark.parametrize("current", [None, "not my password"])
async def test_own_password_and_email_change_only_with_the_current_password(
    client: httpx.AsyncClient, accounts: Accounts, change: dict[str, str], current: str | None
) -> None:
    ada = await accounts.user("ada")
    body = change if current is None else {**change, "current_password": current}
    response = await client.patch(f"/api/v1/users/{ada.id}", json=body, headers=ada.headers)
    assert (response.status_code, response.json()["code"]) == (403, "invalid_current_password")
    me = (await client.get("/api/v1/users/me", headers=ada.headers)).json()
    assert me["email"] == "ada@example.com"  # nothing changed
    assert await accounts.login("ada", PASSWORD)


async def test_an_admin_changes_another_account_without_its_password(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada, admin = await accounts.user("ada"), await accounts.admin()
    response = await client.patch(
        f"/api/v1/users/{ada.id}",
        json={"password": "a brand new secret", "email": "ada2@example.com"},
        headers=admin.headers,
    )
    assert response.status_code == 200
    assert await accounts.login("ada2@example.com", "a brand new secret")


async def test_wrong_current_passwords_are_limited_like_failed_logins(
    settings: Settings, database: Database
) -> None:
    limited = settings.model_copy(
        update={"rate_limits_enabled": True, "rate_limit_failed_logins_per_login": "3/minute"}
    )
    async with app_client(limited, database) as client:
        accounts = Accounts(client, database, limited)
        ada = await accounts.user("ada")
        url, wrong = f"/api/v1/users/{ada.id}", {"email": "x@example.com", "current_password": "no"}
        codes = [
            (await client.patch(url, json=wrong, headers=ada.headers)).status_code for _ in range(4)
        ]
        assert codes == [403, 403, 403, 429]
        right = {"email": "x@example.com", "current_password": PASSWORD}
        refused = await client.patch(url, json=right, headers=ada.headers)
        assert refused.status_code == 429  # even the right one, until the window passes
