"""A page of a longer list, as repositories and services hand it over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Sequence

ItemT = TypeVar("ItemT")


@dataclass(frozen=True, slots=True)
class PageResult(Generic[ItemT]):
    """The items of one page and how many items the whole list has."""

    items: Sequence[ItemT]
    total: int
