"""Query and path parameters shared by features: ids, pagination, text search."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Path, Query

from agora.db.types import MAX_ID
from agora.kernel.errors import InvalidInput

if TYPE_CHECKING:
    from agora.kernel.pages import PageResult

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
            "total_is_estimate": result.total_is_estimate,
            "limit": self.limit,
            "offset": self.offset,
        }


async def _offset_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> OffsetParams:
    return OffsetParams(limit, offset)


Pagination = Annotated[OffsetParams, Depends(_offset_params)]


# Cursors are opaque to clients: "v1:<position>" in URL-safe base64, so the encoding can
# change later without breaking clients that only pass cursors back.
_CURSOR_PREFIX = "v1:"


class InvalidCursor(InvalidInput):
    default_code = "invalid_cursor"
    default_detail = "This cursor is not valid for this list."


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor from None
    number = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not number.isascii() or not number.isdigit():
        raise InvalidCursor
    position = int(number)
    if not 0 < position <= MAX_ID:
        raise InvalidCursor
    return position


@dataclass(frozen=True, slots=True)
class CursorParams:
    limit: int
    # Where the previous page ended (None: from the start of the list).
    after: int | None

    def page(self, items: list[Any], position: int | None) -> dict[str, Any]:
        """The body of a cursor list; `position` is where the next page starts, if any."""
        return {
            "items": items,
            "next_cursor": None if position is None else encode_cursor(position),
        }


async def _cursor_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(min_length=1, max_length=64, description="next_cursor of a page")
    ] = None,
) -> CursorParams:
    return CursorParams(limit, None if cursor is None else decode_cursor(cursor))


CursorPagination = Annotated[CursorParams, Depends(_cursor_params)]
