"""Query and path parameters shared by features: ids, pagination, text search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Path, Query

from agora.db.types import MAX_ID

if TYPE_CHECKING:
    from agora.db.repository import PageResult

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Deep offsets are slow by nature; past this one a client should narrow its filters.
MAX_OFFSET = 1_000_000_000

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
SearchText = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00]*$",
        description="Case-insensitive substring; % and _ match themselves.",
    ),
]


@dataclass(frozen=True, slots=True)
class OffsetParams:
    limit: int
    offset: int

    def page(self, result: PageResult[Any]) -> dict[str, Any]:
        """The body of an offset list, ready for a `Page[...]` response model."""
        return {
            "items": result.items,
            "total": result.total,
            "limit": self.limit,
            "offset": self.offset,
        }


async def _offset_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> OffsetParams:
    return OffsetParams(limit, offset)


Pagination = Annotated[OffsetParams, Depends(_offset_params)]
