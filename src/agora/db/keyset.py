"""Keyset pagination: a page starts right after the sort key of the previous page's last
item, so reading page 10,000 costs what reading page 1 costs (an index range scan),
where OFFSET reads and throws away every row before it.

An `Ordering` is a list's total order: columns, each ascending or descending, the last
one unique. Its `after` condition is written so that every database turns it into an
index range, ``a <= :a AND (a < :a OR b < :b)`` rather than the row-value comparison
``(a, b) < (:a, :b)``, which MariaDB does not use an index for (and which cannot mix
directions).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from agora.db.types import MAX_ID
from agora.kernel.errors import InvalidInput
from agora.kernel.pages import Position

if TYPE_CHECKING:
    from collections.abc import Sequence


class InvalidCursor(InvalidInput):
    default_code = "invalid_cursor"
    default_detail = "This cursor is not valid for this list."


@dataclass(frozen=True, slots=True)
class SortColumn:
    column: ColumnElement[Any]
    descending: bool
    # The attribute of a listed item (entity or row) that holds this column's value.
    attribute: str


class Ordering:
    """A named total order of a list, e.g. ``Ordering("posts", Post.created_at.desc(),
    Post.id.desc())``. The name goes into cursors, so that a cursor of one list (or of
    one sort of a list) is refused by another."""

    def __init__(self, name: str, *clauses: Any, attributes: Sequence[str] = ()) -> None:
        self.name = name
        self.order_by: tuple[Any, ...] = clauses
        columns = []
        for index, clause in enumerate(clauses):
            descending = (
                isinstance(clause, UnaryExpression) and clause.modifier is operators.desc_op
            )
            column = clause.element if isinstance(clause, UnaryExpression) else clause
            attribute = attributes[index] if attributes else column.key
            columns.append(SortColumn(column, descending, str(attribute)))
        self.columns = tuple(columns)

    def position_of(self, item: Any) -> Position:
        """Where a page that ends with `item` ended."""
        return Position(self.name, tuple(getattr(item, c.attribute) for c in self.columns))

    def after(self, position: Position) -> ColumnElement[bool]:
        """The rows that come after `position` in this order; `InvalidCursor` when the
        position was not made by this order."""
        if position.order != self.name or len(position.key) != len(self.columns):
            raise InvalidCursor
        values = map(_parsed, (c.column for c in self.columns), position.key)
        return _after(self.columns, list(values))

    def key_columns(self) -> list[ColumnElement[Any]]:
        return [c.column for c in self.columns]

    @property
    def unique_column(self) -> ColumnElement[Any]:
        """The last column of the order, which tells its rows apart."""
        return self.columns[-1].column


def _after(columns: Sequence[SortColumn], values: Sequence[Any]) -> ColumnElement[bool]:
    first, value = columns[0], values[0]
    passed: ColumnElement[bool] = first.column < value if first.descending else first.column > value
    if len(columns) == 1:
        return passed
    reached: ColumnElement[bool] = (
        first.column <= value if first.descending else first.column >= value
    )
    return and_(reached, or_(passed, _after(columns[1:], values[1:])))


def encoded_key(value: Any) -> Any:
    """A sort key's value as JSON can carry it (see `_parsed` for the way back)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _parsed(column: ColumnElement[Any], value: Any) -> Any:
    """`value` from a cursor as the Python type of `column`, or `InvalidCursor`."""
    python_type = column.type.python_type
    try:
        if python_type is datetime and isinstance(value, str):
            moment = datetime.fromisoformat(value)
            # Naive or out of the range every database stores: not one this list made.
            if moment.tzinfo is not None and 1000 <= moment.astimezone(UTC).year <= 9998:
                return moment
        elif python_type is uuid.UUID and isinstance(value, str):
            return uuid.UUID(value)
        elif (python_type is int and type(value) is int and abs(value) <= MAX_ID) or (
            python_type is str and isinstance(value, str) and "\x00" not in value
        ):
            return value
    except (ValueError, OverflowError):
        pass
    raise InvalidCursor
