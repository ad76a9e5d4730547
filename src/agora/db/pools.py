"""The pools' figures in the metrics: size, connections in use, overflow, by role.

A role names what an engine is for: ``primary`` (writes), ``reader`` (reads on the
primary, when there are no replicas) or ``replica-N``, and ``exports`` (long snapshot
reads). The gauges are set from the pool itself whenever a connection is checked out or
back in, so a scrape reads them without touching any pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from agora.telemetry.metrics import POOL_CHECKED_OUT, POOL_OVERFLOW, POOL_SIZE

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


def report_pool(engine: AsyncEngine, role: str) -> None:
    """Keep the pool gauges of `role` up to date from `engine`'s pool."""
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool):
        return
    size = pool.size()
    POOL_SIZE.labels(role).set(size)
    checked_out, overflow = POOL_CHECKED_OUT.labels(role), POOL_OVERFLOW.labels(role)
    # Counted here: while "checkin" runs, the pool still counts the connection as out.
    in_use = 0

    def moved(change: int) -> None:
        nonlocal in_use
        in_use += change
        checked_out.set(in_use)
        overflow.set(max(in_use - size, 0))

    event.listen(engine.sync_engine, "checkout", lambda *_: moved(1))
    event.listen(engine.sync_engine, "checkin", lambda *_: moved(-1))
