"""Whether the pools of N worker processes fit in what each database server allows.

Each worker opens its own pools: on the primary, the writers' (`AGORA_DB_POOL_SIZE` +
`AGORA_DB_MAX_OVERFLOW`) and, without replicas, the readers' of the same size; on the
first read server, the exports' (`AGORA_EXPORT_CONCURRENCY`); on each replica, a
readers' pool. Each server's need is `workers` times the pools it serves, counted at their
largest, against its ``max_connections`` less what it keeps for superusers and
`AGORA_DB_CONNECTIONS_RESERVED` left for everyone else (migrations, cron jobs, an
operator's console). A server past its limit answers "too many connections": a 503 for
the request that asked, but a service sized past it fails under load, so `agora serve`
refuses to start instead. SQLite has no such limit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import make_url

from agora.db.engine import run_on_connection

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from agora.config import Settings


@dataclass(frozen=True)
class ServerBudget:
    url: str  # without its password
    needed: int
    allowed: int  # max_connections less the superusers' reserve
    reserved: int  # `AGORA_DB_CONNECTIONS_RESERVED`

    @property
    def fits(self) -> bool:
        return self.needed <= self.allowed - self.reserved


def connections_per_worker(settings: Settings) -> Counter[str]:
    """The most connections one worker opens, by server URL."""
    per_pool = settings.db_pool_size + settings.db_max_overflow
    read_urls = settings.database_replica_urls or [settings.database_url]
    needs: Counter[str] = Counter({settings.database_url: per_pool})
    for url in read_urls:
        needs[url] += per_pool
    needs[read_urls[0]] += settings.export_concurrency
    return needs


async def _allowed_connections(connection: AsyncConnection) -> int:
    if connection.dialect.name == "postgresql":
        row = (
            await connection.execute(
                text(
                    "SELECT current_setting('max_connections')::int"
                    " - current_setting('superuser_reserved_connections')::int"
                )
            )
        ).scalar_one()
    else:
        row = (await connection.execute(text("SELECT @@max_connections"))).scalar_one()
    return int(row)


async def connection_budgets(settings: Settings, workers: int) -> list[ServerBudget]:
    """Each database server's budget for `workers` processes (none for SQLite)."""
    budgets = []
    for url, per_worker in connections_per_worker(settings).items():
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            continue
        allowed = await run_on_connection(url, settings, _allowed_connections)
        budgets.append(
            ServerBudget(
                parsed.render_as_string(hide_password=True),
                workers * per_worker,
                allowed,
                settings.db_connections_reserved,
            )
        )
    return budgets


def explain(budget: ServerBudget, workers: int, settings: Settings) -> str:
    """Why `budget` does not fit, and what to change."""
    return (
        f"{workers} workers need up to {budget.needed} connections to {budget.url} "
        f"(pools of AGORA_DB_POOL_SIZE={settings.db_pool_size} + "
        f"AGORA_DB_MAX_OVERFLOW={settings.db_max_overflow} for writes and for reads, and "
        f"AGORA_EXPORT_CONCURRENCY={settings.export_concurrency} for exports, per worker), "
        f"but it allows {budget.allowed} (max_connections less the superusers' reserve) "
        f"and {budget.reserved} are kept for others (AGORA_DB_CONNECTIONS_RESERVED). "
        "Lower the pools or the workers, raise max_connections, or put PgBouncer in front."
    )
