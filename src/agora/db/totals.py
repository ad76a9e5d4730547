"""How many rows a list has, without counting a large table on every request.

The query planner is asked first (``EXPLAIN``, planning only: no row is read). When it
expects more than `EXACT_TOTAL_LIMIT` rows, its estimate is the total, and the page
says so (``total_is_estimate``): counting even that many rows of a search costs a scan
of many more. Otherwise the list counts exactly, through a count bounded by that limit
(so it never reads more than that many rows); when the planner was wrong and there are
more, the total is an estimate again, never below the rows counted. PostgreSQL and
MariaDB have a planner that estimates. SQLite has none: past the limit its total is
10,001 with `total_is_estimate`, to be read as "more than 10,000" (a count of every
row would cost a scan of the list on every request).
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.sql.compiler import SQLCompiler

# `agora.db.repository.AnySelect`, which imports this module.
AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"

EXACT_TOTAL_LIMIT = 10_000


class Explain(Executable, ClauseElement):
    """``EXPLAIN`` of a statement, with its bound parameters kept as parameters."""

    inherit_cache = False

    def __init__(self, statement: AnySelect) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain_postgresql(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


@compiles(Explain, "mysql")
@compiles(Explain, "mariadb")
def _explain_mysql(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN " + compiler.process(element.statement, **kw)


async def count_rows(session: AsyncSession, statement: AnySelect) -> tuple[int, bool]:
    """How many rows `statement` has, and whether that is an estimate (see the module)."""
    # What is counted is the rows, not their columns: a row's text is never read.
    statement = statement.order_by(None).with_only_columns(
        literal_column("1"), maintain_column_froms=True
    )
    estimate = await planner_estimate(session, statement)
    if estimate is not None and estimate > EXACT_TOTAL_LIMIT:
        return estimate, True
    bounded = statement.limit(EXACT_TOTAL_LIMIT + 1).subquery()
    counted = (await session.execute(select(func.count()).select_from(bounded))).scalar_one()
    if counted <= EXACT_TOTAL_LIMIT:
        return counted, False
    # Never fewer than the rows already counted.
    return max(estimate or 0, EXACT_TOTAL_LIMIT + 1), True


async def planner_estimate(session: AsyncSession, statement: AnySelect) -> int | None:
    """The planner's estimate of how many rows `statement` returns (None on SQLite).

    What is explained is the count of those rows: its one result column is what
    SQLAlchemy types, never the columns of the EXPLAIN itself."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "mysql", "mariadb"):
        return None
    counting = Explain(select(func.count()).select_from(statement.subquery()))
    result = await session.execute(counting)
    if dialect == "postgresql":
        plan = result.scalar_one()
        return counted_rows_of((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    # Rows examined per table, each narrowed by its filter (a percentage), joined in
    # nested loops.
    estimate = Fraction(1)
    for row in result.mappings().all():
        estimate *= int(row["rows"] or 1) * Fraction(str(row.get("filtered") or 100)) / 100
    return int(estimate)


def counted_rows_of(node: dict[str, Any]) -> int:
    """The rows under the count(*) of a PostgreSQL plan. A parallel plan estimates per
    process: its rows are scaled as the planner divided them (workers, and the leader's
    share of 1 - 0.3 per worker)."""
    processes = 1.0
    while node["Node Type"] in ("Aggregate", "Gather", "Gather Merge") and node.get("Plans"):
        if node["Node Type"].startswith("Gather"):
            workers = node.get("Workers Planned", 0)
            processes = workers + max(0.0, 1.0 - 0.3 * workers)
        node = node["Plans"][0]
    return int(node["Plan Rows"] * processes)
