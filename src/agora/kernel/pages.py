"""A page of a longer list, as routers ask for it and repositories hand it over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

ItemT = TypeVar("ItemT")
ViewT = TypeVar("ViewT")


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page of a list ended: the name of the list's order and the sort key of its
    last item, as plain values (what a cursor carries; the order checks them)."""

    order: str
    key: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page: `limit` items, either `offset` items into the list or right after the
    position `after` (keyset pagination, whose cost does not grow with the depth)."""

    limit: int
    offset: int = 0
    after: Position | None = None


@dataclass(frozen=True, slots=True)
class PageResult(Generic[ItemT]):
    """The items of one page, how many items the whole list has (an estimate, for a
    long list, when `total_is_estimate`; None for a page after a position, which does
    not count) and the position of its last item when more items follow."""

    items: Sequence[ItemT]
    total: int | None
    total_is_estimate: bool = False
    next: Position | None = None

    def map(self, view: Callable[[ItemT], ViewT]) -> PageResult[ViewT]:
        """The same page with each item turned into `view(item)`."""
        items = [view(item) for item in self.items]
        return PageResult(items, self.total, self.total_is_estimate, self.next)
