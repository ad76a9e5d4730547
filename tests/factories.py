"""Accounts made as a client makes them: registered and signed in through the API."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from agora.config import Settings
from agora.db.session import Database
from agora.main import create_app
from agora.users.passwords import PasswordHasher
from agora.users.schemas import UserCreate
from agora.users.service import UserService

PASSWORD = "correct horse battery"


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def current_session_id(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    """The id of the session these auth headers belong to, as the session list says."""
    listed = (await client.get("/api/v1/auth/sessions", headers=headers)).json()["items"]
    (current,) = (item["id"] for item in listed if item["current"])
    session_id: int = current
    return session_id


@dataclass
class Account:
    """A registered user as a test sees it: its private view and its auth header."""

    id: int
    username: str
    email: str
    password: str
    headers: dict[str, str] = field(default_factory=dict)


class Accounts:
    """Registers users through the API (and admins through the service, like the CLI)."""

    def __init__(
        self, client: httpx.AsyncClient, database: Database | None, settings: Settings
    ) -> None:
        """`database` is where admins are made (none: this client makes no admins)."""
        self.client = client
        self.database = database
        self.hasher = PasswordHasher.from_settings(settings)
        self._count = 0

    def _next_name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    async def grant(
        self, login: str, password: str = PASSWORD, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The token endpoint's answer to a login: a new session's tokens."""
        response = await self.client.post(
            "/api/v1/auth/token", data={"username": login, "password": password}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def login(self, login: str, password: str = PASSWORD) -> dict[str, str]:
        """The auth header of a new session."""
        return bearer((await self.grant(login, password))["access_token"])

    async def user(self, username: str | None = None, **fields: Any) -> Account:
        username = username or self._next_name("user")
        body = {"email": f"{username}@example.com", "username": username, "password": PASSWORD}
        body.update(fields)
        response = await self.client.post("/api/v1/users", json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        return Account(
            created["id"],
            created["username"],
            created["email"],
            body["password"],
            await self.login(created["username"], body["password"]),
        )

    async def admin(self, username: str | None = None) -> Account:
        username = username or self._next_name("admin")
        data = UserCreate(
            email=f"{username}@example.com", username=username, password=SecretStr(PASSWORD)
        )
        assert self.database is not None, "admins are made on a database"
        user = await self.database.run_in_transaction(
            lambda session: UserService(session).register(data, self.hasher, is_superuser=True)
        )
        return Account(user.id, user.username, user.email, PASSWORD, await self.login(username))


@asynccontextmanager
async def app_client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app made from `settings` on `database`, served in process."""
    transport = httpx.ASGITransport(app=create_app(settings, database=database))
    async with httpx.AsyncClient(transport=transport, base_url="http://agora.test") as client:
        yield client
