"""Settings come from AGORA_* variables and .env; unsafe production settings refuse to start."""

import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from pydantic import SecretStr

from agora.config import (
    PUBLISHED_JWT_SECRET,
    InsecureSettingsError,
    Settings,
    load_or_create_secret,
    weakness_of,
)
from agora.db.session import Database
from agora.main import create_app
from tests.factories import Accounts, app_client, current_session_id


def test_defaults_need_no_setup() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite+aiosqlite:///agora.db"
    assert settings.environment == "development"
    settings.check_servable()


def test_environment_variables_and_dotenv_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("AGORA_JWT_LIFETIME_SECONDS=120\nAGORA_DB_POOL_SIZE=3\n")
    monkeypatch.setenv("AGORA_DB_POOL_SIZE", "7")
    monkeypatch.setenv("AGORA_DATABASE_URL", "postgresql+asyncpg://app@db/agora")
    settings = Settings()
    assert settings.jwt_lifetime_seconds == 120
    assert settings.db_pool_size == 7  # the environment wins over .env
    assert settings.database_url == "postgresql+asyncpg://app@db/agora"


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (PUBLISHED_JWT_SECRET, "published"),
        ("short", "at least 32"),
        ("x" * 64, "too predictable"),
        ("changeme" * 5, "too predictable"),
    ],
)
@pytest.mark.parametrize("environment", ["development", "production"])
def test_weak_secrets_are_refused_everywhere(secret: str, message: str, environment: str) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, environment=environment, jwt_secret=SecretStr(secret)
    )
    with pytest.raises(InsecureSettingsError, match=message):
        create_app(settings)


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, environment="production", jwt_secret_file=tmp_path / "secret"
    )
    with pytest.raises(InsecureSettingsError, match="AGORA_JWT_SECRET is not set"):
        create_app(settings)
    assert not (tmp_path / "secret").exists()  # production never makes one up


def test_production_starts_with_a_real_secret() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, environment="production", jwt_secret=SecretStr(secrets.token_urlsafe(48))
    )
    assert create_app(settings).state.settings is settings


def test_development_makes_its_own_secret_once_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "jwt-secret"
    settings = Settings(_env_file=None, jwt_secret_file=path)  # type: ignore[call-arg]
    first = settings.signing_secret()
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(first) >= 64
    assert weakness_of(first) is None
    # A restart (a new process, new settings) signs with the same secret.
    assert Settings(_env_file=None, jwt_secret_file=path).signing_secret() == first  # type: ignore[call-arg]
    other = Settings(_env_file=None, jwt_secret_file=tmp_path / "elsewhere")  # type: ignore[call-arg]
    assert other.signing_secret() != first  # no two installations share one


def test_a_secret_file_that_was_tampered_with_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jwt-secret"
    path.write_text(PUBLISHED_JWT_SECRET)
    with pytest.raises(InsecureSettingsError, match="not usable"):
        Settings(_env_file=None, jwt_secret_file=path).signing_secret()  # type: ignore[call-arg]


async def test_a_default_server_accepts_no_token_signed_with_the_published_secret(
    tmp_path: Path, settings: Settings, database: Database, accounts: Accounts
) -> None:
    """What issue 14 found: a default `make run` took admin tokens anyone could sign."""
    root = await accounts.admin("root")
    sid = await current_session_id(accounts.client, root.headers)
    default = settings.model_copy(update={"jwt_secret": None, "jwt_secret_file": tmp_path / "s"})
    now = datetime.now(UTC)
    claims = {"sub": str(root.id), "sid": sid, "iat": now, "exp": now + timedelta(minutes=5)}
    forged = jwt.encode(claims, PUBLISHED_JWT_SECRET, algorithm="HS256")
    async with app_client(default, database) as client:
        response = await client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {forged}"}
        )
        assert response.status_code == 401
        genuine = jwt.encode(claims, default.signing_secret(), algorithm="HS256")
        response = await client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {genuine}"}
        )
        assert response.status_code == 200  # its own secret is the one it checks
        assert response.json()["is_superuser"] is True


def test_the_secret_is_not_printed() -> None:
    settings = Settings(_env_file=None, jwt_secret=SecretStr("do-not-print-" + "x" * 32))  # type: ignore[call-arg]
    assert "do-not-print" not in repr(settings)
    assert "do-not-print" not in str(settings.model_dump())


def test_workers_starting_at_once_agree_on_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "jwt-secret"
    with ThreadPoolExecutor(8) as pool:
        found = set(pool.map(lambda _: load_or_create_secret(path), range(32)))
    assert found == {path.read_text().strip()}
    assert [entry.name for entry in tmp_path.iterdir()] == ["jwt-secret"]  # no drafts left
