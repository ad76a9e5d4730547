"""The generic repository: statements in, rows out, one vocabulary for every feature.

Method names follow advanced-alchemy's: `get` (by primary key) and `get_one` raise
`NotFound`, `get_one_or_none` does not; `list` and `list_and_count` take filters as
arguments; `add`, `update`, `delete`, `exists`, `count`. Feature repositories
add what the vocabulary cannot say (a locking read, a conditional update) under names
that say what they do, and filter builders that services pass to these methods.
Rows of soft-deletable models that are marked deleted are invisible unless a method is
asked to include them. Every flush goes through `flush`, which turns constraint
violations into the domain errors the subclass declares in `constraint_errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeAlias, TypeVar, cast

from sqlalchemy import ColumnElement, bindparam, func, insert, select
from sqlalchemy import inspect as sqlalchemy_inspect
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key

from agora.db.base import Base, SoftDeleteMixin
from agora.db.errors import violated_constraint
from agora.db.search import TextSearch, choose_search, split_search
from agora.db.totals import count_rows
from agora.kernel.errors import Conflict, DomainError, InvalidInput, NotFound
from agora.kernel.pages import PageResult

if TYPE_CHECKING:
    import builtins
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from sqlalchemy import CursorResult, Row, Select, Table
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import InstrumentedAttribute, Session
    from sqlalchemy.orm.interfaces import ORMOption
    from sqlalchemy.sql import Executable

    from agora.db.keyset import Ordering
    from agora.kernel.pages import PageRequest

ModelT = TypeVar("ModelT", bound=Base)
# A SELECT of any number of columns (SQLAlchemy 2.1 types Select by its column tuple).
AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"
AnyRow: TypeAlias = "Row[*tuple[Any, ...]]"

# Statements the generic methods build, kept per model (and dialect): a statement object
# that is reused keeps its compiled SQL and its cache key, where building one costs as
# much CPU as its round trip (BENCHMARKS.md, "Where the time goes").
# (model, include deleted rows, stored columns rather than the entity) -> the statement.
_BY_ID_STATEMENTS: dict[tuple[type[Base], bool, bool], Select[Any]] = {}
_INSERT_STATEMENTS: dict[tuple[type[Base], str, str], Any] = {}
_NO_SYNC = {"synchronize_session": False}


async def paginate(
    session: AsyncSession,
    statement: AnySelect,
    *,
    ordering: Ordering,
    page: PageRequest,
    count: AnySelect | None = None,
    rows: bool = False,
    search: TextSearch | None = None,
) -> PageResult[Any]:
    """One page of `statement` in `ordering`, and the total row count for an offset page.

    One row more than the page is read, to know whether another page follows (then the
    result carries the position of the last item, for a cursor). A page after a position
    is not counted. An offset page is counted only when the page does not prove the
    total itself (a short page that is not past the end): exactly up to
    `agora.db.totals.EXACT_TOTAL_LIMIT` rows and estimated past it (the page then says
    so). `count` is a leaner statement with the same rows, when `statement` computes
    more than counting needs. Items are the first column (entities), or whole rows with
    `rows` (aggregates, statistics). A `search` filters both, answered through its index
    or by a scan, whichever suits the text (`agora.db.search.choose_search`).
    """
    counted = statement if count is None else count
    if search is not None:
        chosen = await choose_search(session, search, counted, ordering, page)
        statement, counted = statement.where(chosen), counted.where(chosen)
    if page.after is not None or page.offset:
        # A deep page is found by a statement that reads only the sort key, off the
        # index of the order (skipping `offset` rows, or starting after the position);
        # then only its rows are read whole, with their joins and subqueries. Reading
        # whole rows while walking would cost every skipped row (MariaDB does that).
        keys = counted.with_only_columns(*ordering.key_columns()).order_by(*ordering.order_by)
        if page.after is not None:
            keys = keys.where(ordering.after(page.after))
        found = await session.execute(keys.offset(page.offset or None).limit(page.limit + 1))
        statement = statement.where(ordering.unique_column.in_([key[-1] for key in found]))
    statement = statement.order_by(*ordering.order_by).limit(page.limit + 1)
    result = await session.execute(statement)
    items = result.all() if rows else result.scalars().all()
    more = len(items) > page.limit
    items = items[: page.limit]
    following = ordering.position_of(items[-1]) if more else None
    if page.after is not None:
        return PageResult(items, None, next=following)
    if not more and (items or page.offset == 0):
        return PageResult(items, page.offset + len(items))
    total, estimated = await count_rows(session, counted)
    return PageResult(items, total, total_is_estimate=estimated, next=following)


class Repository(Generic[ModelT]):
    """Data access for one model. Subclasses set `model` and add feature queries."""

    model: type[ModelT]
    # Constraint name (see the naming convention) -> the domain error it means.
    constraint_errors: ClassVar[Mapping[str, Callable[[], DomainError]]] = {}

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _visible(self, include_deleted: bool) -> ColumnElement[bool] | None:
        if include_deleted or not issubclass(self.model, SoftDeleteMixin):
            return None
        deleted_at: InstrumentedAttribute[Any] = self.model.deleted_at
        return deleted_at.is_(None)

    def select(self, *where: ColumnElement[bool], include_deleted: bool = False) -> Select[Any]:
        return self._restricted(select(self.model), where, include_deleted)

    def _restricted(
        self, statement: Select[Any], where: Iterable[ColumnElement[bool]], include_deleted: bool
    ) -> Select[Any]:
        statement = statement.where(*where)
        visible = self._visible(include_deleted)
        return statement if visible is None else statement.where(visible)

    def _by_id(self, include_deleted: bool, *, columns: bool = False) -> Select[Any]:
        """``SELECT ... WHERE pk = :id`` of the entity, or with `columns` of the table's
        stored columns, built once per model (see `_BY_ID_STATEMENTS`)."""
        key = (self.model, include_deleted, columns)
        statement = _BY_ID_STATEMENTS.get(key)
        if statement is None:
            (primary_key,) = sqlalchemy_inspect(self.model).primary_key
            selected = select(*self._table().c) if columns else select(self.model)
            by_id = (primary_key == bindparam("id"),)
            statement = self._restricted(selected, by_id, include_deleted)
            _BY_ID_STATEMENTS[key] = statement
        return statement

    async def get(
        self, id_: Any, *, options: Iterable[ORMOption] = (), include_deleted: bool = False
    ) -> ModelT:
        """The row with primary key `id_`, or `NotFound`.

        An object the session already holds is returned without a query, unless loader
        `options` ask for relationships it may not have loaded.
        """
        options = tuple(options)
        instance = None if options else self.session.identity_map.get(identity_key(self.model, id_))
        if instance is None:
            statement = self._by_id(include_deleted)
            if options:  # (a new statement: only then pay for a new cache key)
                statement = statement.options(*options)
            result = await self.session.execute(statement, {"id": id_})
            instance = result.scalar_one_or_none()
        if instance is None or (
            not include_deleted and isinstance(instance, SoftDeleteMixin) and instance.is_deleted
        ):
            raise NotFound(f"{self.model.__name__} not found.")
        return cast("ModelT", instance)

    async def get_one(
        self,
        *where: ColumnElement[bool],
        options: Iterable[ORMOption] = (),
        include_deleted: bool = False,
    ) -> ModelT:
        """The one row matching `where`, or `NotFound`."""
        found = await self.get_one_or_none(*where, options=options, include_deleted=include_deleted)
        if found is None:
            raise NotFound(f"{self.model.__name__} not found.")
        return found

    async def get_one_or_none(
        self,
        *where: ColumnElement[bool],
        options: Iterable[ORMOption] = (),
        include_deleted: bool = False,
    ) -> ModelT | None:
        """The one row matching `where`, or None. Objects the session holds are loaded
        again (another transaction may have changed them since)."""
        statement = self.select(*where, include_deleted=include_deleted).options(*options)
        statement = statement.execution_options(populate_existing=True)
        result: ModelT | None = (await self.session.execute(statement)).scalar_one_or_none()
        return result

    async def list(
        self,
        *where: ColumnElement[bool],
        order_by: Sequence[Any] = (),
        limit: int | None = None,
        options: Iterable[ORMOption] = (),
        include_deleted: bool = False,
    ) -> list[ModelT]:
        """The rows matching `where`, in `order_by` order, at most `limit`."""
        statement = self.select(*where, include_deleted=include_deleted).options(*options)
        statement = statement.order_by(*order_by).limit(limit)
        return list((await self.session.execute(statement)).scalars().all())

    async def list_and_count(
        self,
        *where: ColumnElement[bool],
        ordering: Ordering,
        page: PageRequest,
        options: Iterable[ORMOption] = (),
        include_deleted: bool = False,
    ) -> PageResult[ModelT]:
        """One page of the rows matching `where`, in `ordering`, and (for an offset page)
        how many rows match in all, counted without the loader `options`."""
        filters, search = split_search(where)
        counted = self.select(*filters, include_deleted=include_deleted)
        statement = counted.options(*options)
        return await paginate(
            self.session, statement, ordering=ordering, page=page, count=counted, search=search
        )

    async def get_row(self, id_: Any) -> AnyRow:
        """The stored columns of the row with primary key `id_` (not deleted), or
        `NotFound`: for hot reads that answer a row as it is. A Core row skips the ORM's
        bookkeeping and the entity (BENCHMARKS.md, "GET /api/v1/products/{id}")."""
        row = await self.fetch_row(self._by_id(False, columns=True), {"id": id_})
        if row is None:
            raise NotFound(f"{self.model.__name__} not found.")
        return row

    async def fetch_row(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> Row[Any] | None:
        """One row of a Core statement, run on the session's connection.

        For hot reads that need a few columns rather than an entity. The connection and
        the statement are one trip into SQLAlchemy's synchronous core (`run_sync`), not
        two awaits each with its own greenlet (BENCHMARKS.md, "Where the time goes").
        """
        return await self.session.run_sync(_fetch_row, statement, parameters)

    async def exists(self, *where: ColumnElement[bool], include_deleted: bool = False) -> bool:
        statement = select(self.select(*where, include_deleted=include_deleted).exists())
        return bool((await self.session.execute(statement)).scalar())

    async def count(self, *where: ColumnElement[bool], include_deleted: bool = False) -> int:
        inner = self.select(*where, include_deleted=include_deleted).subquery()
        return (await self.session.execute(select(func.count()).select_from(inner))).scalar_one()

    async def add(self, instance: ModelT) -> ModelT:
        self.session.add(instance)
        await self.flush()
        return instance

    async def update(self, instance: ModelT, changes: Mapping[str, Any]) -> ModelT:
        for name, value in changes.items():
            setattr(instance, name, value)
        await self.flush()
        return instance

    async def delete(self, instance: ModelT) -> None:
        """Soft-deletes when the model supports it, otherwise removes the row."""
        if isinstance(instance, SoftDeleteMixin):
            instance.mark_deleted()
        else:
            await self.session.delete(instance)
        await self.flush()

    async def insert_returning(self, rows: Sequence[Mapping[str, Any]]) -> builtins.list[AnyRow]:
        """INSERT `rows` as one multi-row statement (per 1,000 rows) and return the new
        rows, every column, in the order of `rows`, their generated keys ascending.

        A Core INSERT on the table, not an ORM one: callers want the stored values, not
        entities, and the ORM's bulk path builds a new statement on every call.
        PostgreSQL and MariaDB return the rows in parameter order on request. SQLAlchemy
        cannot ask that of SQLite and would fall back to one INSERT per row; there the
        rows of one INSERT get ascending rowids in VALUES order, and no other writer can
        interleave (BEGIN IMMEDIATE holds the database's write lock), so sorting by key
        restores the order.
        """
        dialect = self.session.get_bind().dialect.name
        ordered = dialect != "sqlite"
        cache_key = (self.model, dialect, "returning")
        statement = _INSERT_STATEMENTS.get(cache_key)
        if statement is None:
            table = self._table()
            statement = insert(table).returning(*table.c, sort_by_parameter_order=ordered)
            _INSERT_STATEMENTS[cache_key] = statement
        inserted = list((await self.session.execute(statement, rows)).all())
        if ordered:
            return inserted
        (key,) = self._table().primary_key.columns
        return sorted(inserted, key=lambda row: getattr(row, key.name))

    def _table(self) -> Table:
        return self.model.metadata.tables[self.model.__tablename__]

    async def affected(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> int:
        """Run a bulk UPDATE or DELETE and return how many rows it matched.

        Conditional writes (``... WHERE balance >= :amount``, ``... WHERE owner_id = :me``)
        are checked this way: the database decides, atomically, under its row locks.
        """
        result = await self.session.execute(statement, parameters, execution_options=_NO_SYNC)
        return cast("CursorResult[Any]", result).rowcount

    async def add_missing(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """INSERT `rows`, silently skipping any that would break a unique constraint.

        For get-or-create under concurrency: two transactions adding the same new row at
        once both succeed (the second waits for the first and skips), where a plain INSERT
        would fail one of them. Callers then read the rows back with a locking read, which
        sees the other transaction's committed row even under REPEATABLE READ.
        """
        if not rows:
            return
        dialect = self.session.get_bind().dialect.name
        first = next(iter(rows[0]))
        cache_key = (self.model, dialect, first)
        statement = _INSERT_STATEMENTS.get(cache_key)
        if statement is None:
            statement = _insert_skipping_duplicates(self._table(), dialect, first)
            _INSERT_STATEMENTS[cache_key] = statement
        await self.session.execute(statement, list(rows))

    async def flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as error:
            raise self._translate(error) from error

    def _translate(self, error: IntegrityError) -> DomainError:
        violation = violated_constraint(error, self.model.metadata)
        if violation is not None and violation.name is not None:
            translate = self.constraint_errors.get(violation.name)
            if translate is not None:
                return translate()
        if violation is not None and violation.kind == "foreign_key":
            return InvalidInput(
                "The request refers to something that does not exist.", code="invalid_reference"
            )
        return Conflict("The change conflicts with existing data.", code="constraint_violation")


def _fetch_row(
    session: Session, statement: Executable, parameters: Mapping[str, Any] | None
) -> Row[Any] | None:
    return session.connection().execute(statement, parameters).one_or_none()


def _insert_skipping_duplicates(table: Table, dialect: str, column: str) -> Executable:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    statement = mysql.insert(table)
    # A no-op update of a column the rows give: MariaDB's way of "do nothing" that,
    # unlike INSERT IGNORE, does not also swallow unrelated errors.
    return statement.on_duplicate_key_update({column: statement.inserted[column]})
