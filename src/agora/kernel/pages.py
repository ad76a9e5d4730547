"""A page of a longer list, as repositories and services hand it over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

ItemT = TypeVar("ItemT")
ViewT = TypeVar("ViewT")


@dataclass(frozen=True, slots=True)
class PageResult(Generic[ItemT]):
    """The items of one page and how many items the whole list has."""

    items: Sequence[ItemT]
    total: int

    def map(self, view: Callable[[ItemT], ViewT]) -> PageResult[ViewT]:
        """The same page with each item turned into `view(item)`."""
        return PageResult([view(item) for item in self.items], self.total)
