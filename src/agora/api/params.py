"""Query and path parameters shared by features: ids, pagination, text search."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Path, Query

from agora.api.schemas import CursorPage, Page
from agora.db.keyset import InvalidCursor, encoded_key
from agora.db.types import MAX_ID
from agora.kernel.errors import InvalidInput
from agora.kernel.pages import PageRequest, Position

if TYPE_CHECKING:
    from agora.kernel.pages import PageResult

PageT = TypeVar("PageT", bound=Page[Any])
CursorPageT = TypeVar("CursorPageT", bound=CursorPage[Any])

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Past this offset a list refuses (422 offset_too_large) and points to its cursor: the
# cost of an OFFSET grows with it, a cursor's does not.
MAX_OFFSET = 10_000

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
SearchText = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00]*$",
        description="Case-insensitive substring; % and _ match themselves. On MariaDB, each "
        "word of 3 or more characters (not a stop word) must also begin a word of the text "
        "(its FULLTEXT index finds words by their start).",
    ),
]

# Cursors are opaque to clients: a version prefix and JSON in URL-safe base64, so the
# encoding can change later without breaking clients that only pass cursors back.
# "v1:<id>" continues an append-only list (messages, ledger) after one id; "v2:" carries
# a `Position`, the name of a list's order and the sort key where a page ended.
_ID_CURSOR = "v1:"
_POSITION_CURSOR = "v2:"
CURSOR_MAX_LENGTH = 512


class OffsetTooLarge(InvalidInput):
    default_code = "offset_too_large"
    default_detail = (
        f"Offsets past {MAX_OFFSET:,} are not served: follow `next_cursor` from an earlier "
        "page (pass it as `cursor`) to go deeper."
    )


class CursorWithOffset(InvalidInput):
    default_code = "invalid_cursor"
    default_detail = "A cursor says where the page starts: leave out `offset`."


def _encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decoded(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor from None


def encode_cursor(position: int) -> str:
    return _encoded(f"{_ID_CURSOR}{position}")


def decode_cursor(cursor: str) -> int:
    text = _decoded(cursor)
    number = text.removeprefix(_ID_CURSOR)
    if not text.startswith(_ID_CURSOR) or not number.isascii() or not number.isdigit():
        raise InvalidCursor
    position = int(number)
    if not 0 < position <= MAX_ID:
        raise InvalidCursor
    return position


def encode_position(position: Position) -> str:
    key = [encoded_key(value) for value in position.key]
    return _encoded(_POSITION_CURSOR + json.dumps([position.order, *key], separators=(",", ":")))


def decode_position(cursor: str) -> Position:
    text = _decoded(cursor)
    if not text.startswith(_POSITION_CURSOR):
        raise InvalidCursor
    try:
        contents = json.loads(text.removeprefix(_POSITION_CURSOR))
    except ValueError:
        raise InvalidCursor from None
    if not isinstance(contents, list) or len(contents) < 2 or not isinstance(contents[0], str):
        raise InvalidCursor
    return Position(contents[0], tuple(contents[1:]))


CursorText = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=CURSOR_MAX_LENGTH,
        description="`next_cursor` of an earlier page: the page right after it (then the "
        "body is a cursor page, without `total` and `offset`).",
    ),
]


@dataclass(frozen=True, slots=True)
class PageParams:
    """An offset list's page request, which may instead continue after a cursor."""

    request: PageRequest

    def listing(
        self, result: PageResult[Any], page: type[PageT], cursor_page: type[CursorPageT]
    ) -> PageT | CursorPageT:
        """The body for `result`: a `page` (offset list), or a `cursor_page` when the
        request continued a cursor; routes answer ``Page[Item] | CursorPage[Item]``."""
        next_cursor = None if result.next is None else encode_position(result.next)
        if self.request.after is not None or result.total is None:
            return cursor_page(items=result.items, next_cursor=next_cursor)
        return page(
            items=result.items,
            total=result.total,
            total_is_estimate=result.total_is_estimate,
            limit=self.request.limit,
            offset=self.request.offset,
            next_cursor=next_cursor,
        )


async def _pagination(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[
        int, Query(ge=0, description=f"At most {MAX_OFFSET:,}; deeper, use `cursor`.")
    ] = 0,
    cursor: CursorText = None,
) -> PageParams:
    if cursor is not None:
        if offset:
            raise CursorWithOffset
        return PageParams(PageRequest(limit, after=decode_position(cursor)))
    if offset > MAX_OFFSET:
        raise OffsetTooLarge
    return PageParams(PageRequest(limit, offset))


Pagination = Annotated[PageParams, Depends(_pagination)]


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
