"""Domain errors: what went wrong in terms a client can act on.

Each error carries the HTTP status it maps to and a stable, machine-readable ``code``
(snake_case). Services raise these; `agora.api.errors` turns them into
``{"detail": ..., "code": ...}`` responses. Nothing here knows about HTTP frameworks.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    status_code: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"
    default_detail: ClassVar[str] = "The request cannot be processed."

    def __init__(self, detail: str | None = None, *, code: str | None = None) -> None:
        self.detail = detail or self.default_detail
        self.code = code or self.default_code
        super().__init__(self.detail)

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers (``WWW-Authenticate``, ``Retry-After``)."""
        return {}


class NotAuthenticated(DomainError):
    status_code = 401
    default_code = "not_authenticated"
    default_detail = "Authentication is required."

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(DomainError):
    status_code = 403
    default_code = "forbidden"
    default_detail = "You are not allowed to do this."


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"
    default_detail = "Not found."


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class InvalidInput(DomainError):
    """Input that is well-formed but refers to something unusable (422)."""

    status_code = 422
    default_code = "invalid_input"
    default_detail = "The request contains an invalid value."


class InvalidRecipient(InvalidInput):
    """Money or a conversation sent to someone who cannot receive it."""

    default_code = "invalid_recipient"
    default_detail = "The recipient must be another active user."


class ServiceUnavailable(DomainError):
    """A temporary condition: the client should retry after ``retry_after`` seconds."""

    status_code = 503
    default_code = "service_unavailable"
    default_detail = "The service is temporarily unavailable; retry shortly."

    def __init__(
        self, detail: str | None = None, *, code: str | None = None, retry_after: int = 1
    ) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceBusy(ServiceUnavailable):
    """A bounded resource other than the database (password hashing) is saturated."""

    default_code = "service_busy"
    default_detail = "The service is busy; retry shortly."
