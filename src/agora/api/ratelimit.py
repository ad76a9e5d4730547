"""Rate limits, with the `limits` library: failed logins, registrations, writes.

Counters live in Redis when ``AGORA_REDIS_URL`` is set, shared by every worker process
and instance; otherwise in each process's memory (one process: exact; several: each
counts its own share). Each limit is a setting in `limits`' notation (``"5/minute"``,
``"5/minute;30/hour"``), counted over a moving window. A client over a limit gets 429
`rate_limited` with ``Retry-After``: the seconds until the window lets it in again.

What is limited, and by what:

* **failed logins** per submitted login (username or email, as typed, lower-cased) and
  per client address. A login over either limit is refused before its password is
  hashed, right or wrong; only failures count.
* **registrations** per client address, every attempt.
* **writes** per user: every request that is not GET, HEAD or OPTIONS by a signed-in
  caller, counted where the caller is authenticated (`agora.api.security`).

If the counters cannot be reached (Redis down), requests are let through and a warning
is logged: the limits protect the service, and an outage of theirs should not become
one of the service.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from limits import parse_many
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from agora.api.routing import documents_errors
from agora.kernel.errors import DomainError
from agora.telemetry.metrics import RATE_LIMITED

if TYPE_CHECKING:
    from collections.abc import Sequence

    from limits import RateLimitItem
    from limits.aio.storage import Storage

    from agora.config import Settings

logger = logging.getLogger(__name__)
# Redis must answer quickly or not at all: a request never waits long on its limits.
REDIS_TIMEOUT_SECONDS = 0.5


class RateLimited(DomainError):
    status_code = 429
    default_code = "rate_limited"
    default_detail = "Too many requests; retry later."

    def __init__(self, detail: str | None = None, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(request: Request, trusted_proxies: Sequence[IpNetwork]) -> str:
    """The address of whoever sent the request: the socket's peer, unless the peer is a
    trusted proxy; then the right-most address of ``X-Forwarded-For`` that is not one (a
    client can put anything at the left of that header, never at the right)."""
    peer = request.client.host if request.client else "unknown"
    if not trusted_proxies or not _is_trusted(peer, trusted_proxies):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _is_trusted(hop, trusted_proxies):
            return hop
    return peer


def _is_trusted(address: str, trusted_proxies: Sequence[IpNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted_proxies)


class RateLimiter:
    """The app's limits (``app.state.rate_limiter``)."""

    def __init__(
        self,
        storage: Storage,
        *,
        failed_logins_per_login: str,
        failed_logins_per_address: str,
        registrations_per_address: str,
        writes_per_user: str,
        trusted_proxies: Sequence[str] = (),
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self._limiter = MovingWindowRateLimiter(storage)
        self._failed_logins_per_login = parse_many(failed_logins_per_login)
        self._failed_logins_per_address = parse_many(failed_logins_per_address)
        self._registrations = parse_many(registrations_per_address)
        self._writes = parse_many(writes_per_user)
        self.trusted_proxies = [
            ipaddress.ip_network(proxy, strict=False) for proxy in trusted_proxies
        ]

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        storage: Storage
        if settings.redis_url:
            storage = RedisStorage(
                "async+" + settings.redis_url,
                wrap_exceptions=True,
                key_prefix=settings.rate_limit_key_prefix,
                connect_timeout=REDIS_TIMEOUT_SECONDS,
                stream_timeout=REDIS_TIMEOUT_SECONDS,
            )
        else:
            storage = MemoryStorage()
        return cls(
            storage,
            failed_logins_per_login=settings.rate_limit_failed_logins_per_login,
            failed_logins_per_address=settings.rate_limit_failed_logins_per_address,
            registrations_per_address=settings.rate_limit_registrations_per_address,
            writes_per_user=settings.rate_limit_writes_per_user,
            trusted_proxies=settings.trusted_proxies,
            enabled=settings.rate_limits_enabled,
        )

    async def check_login(self, login: str, address: str) -> None:
        """`RateLimited` when this login, or this address, has failed too often."""
        await self._apply(self._failed_logins_per_login, "login", login.lower(), count=False)
        await self._apply(self._failed_logins_per_address, "login-address", address, count=False)

    async def count_failed_login(self, login: str, address: str) -> None:
        await self._apply(self._failed_logins_per_login, "login", login.lower(), refuse=False)
        await self._apply(self._failed_logins_per_address, "login-address", address, refuse=False)

    async def count_registration(self, address: str) -> None:
        await self._apply(self._registrations, "registration", address)

    async def count_write(self, user_id: int) -> None:
        await self._apply(self._writes, "write", str(user_id))

    async def _apply(
        self, items: list[RateLimitItem], *identifiers: str, count: bool = True, refuse: bool = True
    ) -> None:
        """Count a request against `items` (or only look, without `count`), and raise
        `RateLimited` when one is spent (unless told not to `refuse`)."""
        if not self.enabled:
            return
        try:
            for item in items:
                allowed = await (self._limiter.hit if count else self._limiter.test)(
                    item, *identifiers
                )
                if refuse and not allowed:
                    RATE_LIMITED.labels(identifiers[0]).inc()  # the limit's namespace
                    raise RateLimited(retry_after=await self._retry_after(item, identifiers))
        except StorageError as error:
            logger.warning("rate limits not applied: their storage is unavailable (%s)", error)

    async def _retry_after(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> int:
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - time.time()))


def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


def get_client_address(request: Request, limiter: RateLimiterDep) -> str:
    """The client's address, as `client_address` reads it with the configured proxies."""
    return client_address(request, limiter.trusted_proxies)


ClientAddress = Annotated[str, Depends(get_client_address)]


@documents_errors({429: "rate_limited: too many registrations from this address"})
async def limit_registrations(limiter: RateLimiterDep, address: ClientAddress) -> None:
    """A route dependency: counts the request as a registration of its client address."""
    await limiter.count_registration(address)
