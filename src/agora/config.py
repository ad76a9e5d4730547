"""Settings, read from the environment (prefix ``AGORA_``) and from a ``.env`` file."""

from __future__ import annotations

import ipaddress
import math
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The secret earlier versions printed in their source: anyone could sign tokens with it,
# so it is refused everywhere (`Settings.check_servable`).
PUBLISHED_JWT_SECRET = "agora-development-secret-do-not-use-in-production"  # noqa: S105
# A secret must be at least this long, and hold at least `MIN_SECRET_BITS` by the estimate
# of `secret_bits`.
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 128

LogFormat = Literal["json", "console"]


def usable_cores() -> int:
    """The cores this process may run on (fewer than the machine's when it is pinned)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class InsecureSettingsError(RuntimeError):
    """The settings are not safe for the environment they claim to be."""


def secret_bits(secret: str) -> float:
    """A generous upper bound on a secret's entropy: its length times log2 of the number
    of distinct characters in it ("x" * 64 holds 0 bits, 43 random URL-safe base64
    characters about 250)."""
    distinct = len(set(secret))
    return len(secret) * math.log2(distinct) if distinct > 1 else 0.0


def weakness_of(secret: str) -> str | None:
    """Why `secret` must not sign tokens, or None: shorter than 32 characters, fewer
    than 128 bits by `secret_bits` (a repeated character, a word padded out), or the
    secret that earlier versions of agora published."""
    if secret == PUBLISHED_JWT_SECRET:
        return "is the development secret that earlier versions of agora published"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"must be at least {MIN_SECRET_LENGTH} characters long"
    if secret_bits(secret) < MIN_SECRET_BITS:
        return "is too predictable (too few distinct characters for its length)"
    return None


def load_or_create_secret(path: Path) -> str:
    """The secret kept in `path`, created (random, mode 0600) when there is none, as
    Rails keeps a development secret: tokens survive a restart, and no two
    installations share one. Several workers starting at once agree on the first one
    written: it is written whole to a file of its own, then linked into place, which
    fails for all but one."""
    if not path.exists():
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    secret = path.read_text().strip()
    if weakness_of(secret) is not None:
        raise InsecureSettingsError(f"the secret in {path} is not usable; delete it")
    return secret


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AGORA_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Literal["development", "production"] = "development"

    database_url: str = "sqlite+aiosqlite:///agora.db"
    # Read-only GET requests are spread over these; empty means the primary serves reads.
    database_replica_urls: list[str] = Field(default_factory=list)
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout: float = Field(
        default=5.0, gt=0, description="seconds to wait for a connection"
    )
    db_pool_recycle: int = Field(default=1800, description="seconds; -1 keeps connections forever")
    # Off by default: it costs a round trip per checkout. A connection found dead is instead
    # invalidated with the rest of the pool and the request retried (see agora.db.session).
    db_pool_pre_ping: bool = False
    db_echo: bool = False
    # Connections `agora serve` leaves free on each database server for others (migrations,
    # cron jobs, a console) when it checks that its workers' pools fit (agora.db.budget).
    db_connections_reserved: int = Field(default=5, ge=0)
    # Whole-transaction attempts for deadlocks, serialization failures and dropped connections.
    db_transaction_attempts: int = Field(default=5, ge=1, le=20)

    # Host names the service answers to (a request naming another is 400 `invalid_host`),
    # so no forged Host header reaches a redirect or a log: "*.example.com" allows the
    # subdomains, "*" any host (not recommended).
    allowed_hosts: list[str] = Field(default_factory=lambda: ["localhost", "127.0.0.1", "[::1]"])

    # Exports stream through a pool of their own, this many at once per process; a user
    # runs at most `exports_per_user` at once (429 beyond), and a client that takes no
    # data for `export_send_timeout_seconds` has its stream cut and its connection freed.
    export_concurrency: int = Field(default=4, ge=1)
    exports_per_user: int = Field(default=2, ge=1)
    export_send_timeout_seconds: float = Field(default=30.0, gt=0)

    # Rate limits, in `limits`' notation ("5/minute", "5/minute;30/hour"; see
    # agora.api.ratelimit). Counters are kept in Redis when a URL is given (shared by all
    # workers), else in each process's memory.
    redis_url: str | None = Field(default=None, description="e.g. redis://127.0.0.1:6379/0")
    rate_limits_enabled: bool = True
    rate_limit_key_prefix: str = "agora"
    rate_limit_failed_logins_per_login: str = "5/minute;30/hour"
    rate_limit_failed_logins_per_address: str = "20/minute;300/hour"
    rate_limit_registrations_per_address: str = "10/hour"
    rate_limit_writes_per_user: str = "120/minute"
    # Proxies (addresses or networks) whose X-Forwarded-For names the client; without
    # them the client is the socket's peer and the header is ignored.
    trusted_proxies: list[str] = Field(default_factory=list)

    # A bearer token that /metrics requires when set (unset: anyone who reaches it).
    metrics_token: SecretStr | None = None
    # One JSON object per line, or plain text for a terminal; unset, plain text in
    # development and JSON otherwise (agora.telemetry.logs).
    log_format: LogFormat | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Unhandled errors are reported to Sentry when a DSN is given (agora.telemetry.reports):
    # under `environment` and "agora@<version>" unless these say otherwise; personal data
    # (headers that authenticate, cookies, bodies, queries, local variables) only with
    # `sentry_send_pii`.
    sentry_dsn: SecretStr | None = None
    sentry_environment: str | None = None
    sentry_release: str | None = None
    sentry_sample_rate: float = Field(default=1.0, ge=0, le=1)
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)
    sentry_send_pii: bool = False
    # OpenTelemetry traces of requests and statements, exported by OTLP as the OTEL_*
    # variables say (agora.telemetry.traces).
    tracing_enabled: bool = False

    # Required outside development. In development, when unset, a random secret is
    # generated on first start and kept in `jwt_secret_file` (mode 0600).
    jwt_secret: SecretStr | None = None
    jwt_secret_file: Path = Path(".agora/jwt-secret")
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    # Access tokens are short-lived: a session that ends stops its tokens at once (the
    # caller check reads it), and a token copied from a log is soon useless anyway.
    jwt_lifetime_seconds: int = Field(default=900, ge=60)
    # A session lives this long past its last refresh (each refresh token's lifetime).
    refresh_token_lifetime_seconds: int = Field(default=30 * 86_400, ge=60)
    # How many verified tokens each process remembers (0: verify every time); TokenCodec.
    jwt_verified_tokens_kept: int = Field(default=10_000, ge=0)

    # argon2id parameters (RFC 9106's second recommended option by default).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    # Hashes computed at once (default: one per usable core), and how long a login, registration
    # or password change waits for its turn before it is refused with 503 `service_busy`.
    password_hashing_concurrency: int = Field(default_factory=usable_cores, ge=1)
    password_hashing_wait_seconds: float = Field(default=1.0, gt=0)

    @field_validator(
        "rate_limit_failed_logins_per_login",
        "rate_limit_failed_logins_per_address",
        "rate_limit_registrations_per_address",
        "rate_limit_writes_per_user",
    )
    @classmethod
    def _is_rate_limit(cls, value: str) -> str:
        parse_many(value)  # a ValueError names what is wrong
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _are_networks(cls, value: list[str]) -> list[str]:
        for proxy in value:
            ipaddress.ip_network(proxy, strict=False)
        return value

    def check_servable(self) -> None:
        """Raise when these settings must not serve traffic: no explicit secret outside
        development, or a weak one anywhere (see `weakness_of`)."""
        if self.jwt_secret is None:
            if self.environment != "development":
                raise InsecureSettingsError(
                    "AGORA_JWT_SECRET is not set: outside development it must be, e.g. to "
                    'the output of python -c "import secrets; print(secrets.token_urlsafe(48))"'
                )
            return
        if (weakness := weakness_of(self.jwt_secret.get_secret_value())) is not None:
            raise InsecureSettingsError(f"AGORA_JWT_SECRET {weakness}")

    def log_format_in_use(self) -> LogFormat:
        if self.log_format is not None:
            return self.log_format
        return "console" if self.environment == "development" else "json"

    def signing_secret(self) -> str:
        """The secret that signs tokens: AGORA_JWT_SECRET, or in development the one kept
        in `jwt_secret_file` (created on first use)."""
        self.check_servable()
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        self.jwt_secret_file.parent.mkdir(parents=True, exist_ok=True)
        return load_or_create_secret(self.jwt_secret_file)


@lru_cache
def get_settings() -> Settings:
    return Settings()
