"""Every error leaves as ``{"detail": ..., "code": ...}`` with the right status.

Domain errors carry their own status and code. Validation errors keep FastAPI's list in
``detail`` without echoing the offending input back (it may be a password). Database
trouble the client can do nothing about but wait is a 503 with ``Retry-After``, never a
500. Anything else is logged with its traceback and answered with a bare 500.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from agora.db.errors import (
    DatabaseBusy,
    DatabaseUnavailable,
    is_invalid_value,
    is_retryable,
    is_unavailable,
)
from agora.kernel.errors import DomainError
from agora.telemetry.context import current_request

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}
_SAFE_CONTEXT_TYPES = (str, int, float, bool)
SHOWN_VALIDATION_ERRORS = 20


def error_response(
    status_code: int, detail: Any, code: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status_code, headers=headers)


def domain_error_response(error: DomainError) -> JSONResponse:
    return error_response(error.status_code, error.detail, error.code, error.headers)


def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return domain_error_response(error)


def _public_validation_error(error: dict[str, Any]) -> dict[str, Any]:
    public = {"type": error["type"], "loc": list(error["loc"]), "msg": error["msg"]}
    context = {
        key: value
        for key, value in (error.get("ctx") or {}).items()
        if isinstance(value, _SAFE_CONTEXT_TYPES)
    }
    if context:
        public["ctx"] = context
    return public


def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    """At most `SHOWN_VALIDATION_ERRORS` of them, and ``more_errors``, how many were left
    out: a body of a hundred thousand bad fields gets a small answer."""
    assert isinstance(error, RequestValidationError)
    errors = error.errors()
    detail = [_public_validation_error(item) for item in errors[:SHOWN_VALIDATION_ERRORS]]
    body: dict[str, Any] = {"detail": detail, "code": "validation_error"}
    if len(errors) > SHOWN_VALIDATION_ERRORS:
        body["more_errors"] = len(errors) - SHOWN_VALIDATION_ERRORS
    return JSONResponse(body, 422)


def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    return error_response(error.status_code, error.detail, code, dict(error.headers or {}))


def _pool_timeout(request: Request, error: Exception) -> JSONResponse:
    logger.warning("no database connection free for %s %s", request.method, request.url.path)
    return domain_error_response(DatabaseBusy())


def _database_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DBAPIError)
    if is_invalid_value(error):
        # Input validation should have caught this first; answer as the client's error,
        # but log it as ours.
        logger.error(
            "database refused a value for %s %s: %s", request.method, request.url.path, error.orig
        )
        return error_response(422, "A value in the request is out of range.", "invalid_value")
    if is_unavailable(error) or isinstance(error, OperationalError | InterfaceError):
        return _database_unreachable(request, error)
    if is_retryable(error):
        logger.warning("database conflict persisted after retries: %s", error.orig)
        return domain_error_response(DatabaseBusy())
    logger.error("database error in %s %s", request.method, request.url.path, exc_info=error)
    return _internal_error(request, error)


def _database_unreachable(_request: Request, error: Exception) -> JSONResponse:
    logger.error("database unavailable: %s", error)
    return domain_error_response(DatabaseUnavailable())


def _internal_error(request: Request, error: Exception) -> JSONResponse:
    if is_unavailable(error):  # a driver's own error for a lost connection
        return _database_unreachable(request, error)
    # The server logs the traceback itself: Starlette re-raises after this response. Sent
    # from outside every middleware, so it carries its own nosniff and request id.
    headers = {"X-Content-Type-Options": "nosniff"}
    if (context := current_request()) is not None:
        headers["X-Request-ID"] = context.request_id
    return error_response(500, "Internal server error.", "internal_error", headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(PoolTimeoutError, _pool_timeout)
    app.add_exception_handler(DBAPIError, _database_error)
    # Refused, reset, unresolvable: raised by the driver before any DBAPI error exists.
    app.add_exception_handler(OSError, _database_unreachable)
    app.add_exception_handler(Exception, _internal_error)
