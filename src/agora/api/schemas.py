"""Base classes for request and response bodies, and the shapes every feature shares."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictInt,
    field_validator,
    model_validator,
)
from starlette.responses import Response

from agora.db.totals import EXACT_TOTAL_LIMIT
from agora.db.types import MAX_ID

ItemT = TypeVar("ItemT")

# OpenAPI documentation of extra responses, as FastAPI's `responses=` takes it.
Responses = dict[int | str, dict[str, Any]]


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """A response already serialized from `model` (FastAPI does not validate it again)."""
    return Response(model.model_dump_json(), status_code, media_type="application/json")


class ValidationIssue(BaseModel):
    """One problem of a 422 `validation_error`; the submitted value is never echoed."""

    type: str
    loc: list[str | int]
    msg: str
    ctx: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    """Every error: `detail` says what went wrong (for `validation_error`, the first 20
    problems), `code` is stable and machine-readable."""

    model_config = ConfigDict(title="Error")

    detail: str | list[ValidationIssue]
    code: str = Field(examples=["not_found"])
    more_errors: int | None = Field(
        default=None, description="How many problems a 422 left out (only when it did)."
    )


def not_found(description: str) -> Responses:
    return {404: {"description": description}}


# An id in a request body: out-of-range numbers are a 422 here, not a driver error later.
EntityId = Annotated[int, Field(ge=1, le=MAX_ID)]

# Money is integer cents. Ten billion units of the currency: more in one operation is a
# typo, not a payment. Strict: 9.99, 10.0 and "10" are refused, not rounded or parsed.
MAX_AMOUNT_CENTS = 10**12
Cents = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT_CENTS)]
PositiveCents = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT_CENTS)]


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, SecretStr):
        return "\x00" in value.get_secret_value()
    if isinstance(value, list | tuple | set | frozenset):
        return any(_contains_nul(item) for item in value)
    return False


class InputModel(BaseModel):
    """A request body: unknown fields are refused (422), never silently dropped or stored.

    NUL characters are refused in every string: PostgreSQL cannot store them, and no
    legitimate text contains one.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if _contains_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class UpdateModel(InputModel):
    """A partial update: only the fields the client sent are applied.

    Fields default to None so they can be left out; an explicit ``null`` is accepted only
    for the fields listed in `nullable_fields` (it clears them).
    """

    nullable_fields: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _refuse_null_for_required_columns(self) -> UpdateModel:
        for name in self.model_fields_set - self.nullable_fields:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class OutputModel(BaseModel):
    """A response body, read from ORM objects' attributes."""

    model_config = ConfigDict(from_attributes=True)


class CursorPage(OutputModel, Generic[ItemT]):
    """A cursor list: one page of items and where the next one starts."""

    items: list[ItemT]
    next_cursor: str | None


class Page(OutputModel, Generic[ItemT]):
    """An offset list: one page of items and the number of items in the whole list."""

    items: list[ItemT]
    total: int = Field(
        description=f"Exact up to {EXACT_TOTAL_LIMIT:,} items; past that (and `total_is_estimate` "
        "is true), on PostgreSQL and MariaDB the query planner's estimate, on SQLite "
        f"{EXACT_TOTAL_LIMIT + 1:,}: more than {EXACT_TOTAL_LIMIT:,}."
    )
    # Present, and true, only when `total` is an estimate.
    total_is_estimate: bool = Field(default=False, exclude_if=lambda estimated: not estimated)
    limit: int
    offset: int
    next_cursor: str | None = Field(
        description="Pass it as `cursor` for the page after this one, however deep (null on "
        "the last page)."
    )
