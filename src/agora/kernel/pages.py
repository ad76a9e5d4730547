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
    """The items of one page and how many items the whole list has (an estimate, for a
    long list, when `total_is_estimate`)."""

    items: Sequence[ItemT]
    total: int
    total_is_estimate: bool = False

    def map(self, view: Callable[[ItemT], ViewT]) -> PageResult[ViewT]:
        """The same page with each item turned into `view(item)`."""
        items = [view(item) for item in self.items]
        return PageResult(items, self.total, self.total_is_estimate)
