"""Settings come from AGORA_* variables and .env; unsafe production settings refuse to start."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from agora.config import DEVELOPMENT_JWT_SECRET, InsecureSettingsError, Settings
from agora.main import create_app


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
    [(DEVELOPMENT_JWT_SECRET, "development default"), ("short", "at least 32")],
)
def test_production_refuses_weak_secrets(secret: str, message: str) -> None:
    settings = Settings(_env_file=None, environment="production", jwt_secret=SecretStr(secret))  # type: ignore[call-arg]
    with pytest.raises(InsecureSettingsError, match=message):
        create_app(settings)


def test_production_starts_with_a_real_secret() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, environment="production", jwt_secret=SecretStr("s" * 48)
    )
    assert create_app(settings).state.settings is settings


def test_the_secret_is_not_printed() -> None:
    settings = Settings(_env_file=None, jwt_secret=SecretStr("do-not-print-" + "x" * 32))  # type: ignore[call-arg]
    assert "do-not-print" not in repr(settings)
    assert "do-not-print" not in str(settings.model_dump())
