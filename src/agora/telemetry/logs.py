"""The service's logs: one line per event, as JSON for a log pipeline or as plain text for
a developer's terminal, each line of a request carrying its id.

`logging_config` is the one configuration of every logger that speaks here: agora's
own, uvicorn's (its start and stop, an unhandled error's traceback) and the root (a
library's warnings). uvicorn's access log is replaced by `log_access`: one line per
request under the route's template, never its raw path or query string, with the
status, the duration, the caller's id and the number of SQL statements it ran.

What is never written: a password, a token, a request or response body, a hash. Nothing
here logs a body or a header; the engines hide the parameters of statements
(``hide_parameters``), where a password's hash would otherwise appear in a database
error; the access line names the route, not a URL a token could travel in.
"""

import json
import logging
from datetime import UTC, datetime
from typing import Any

from agora.telemetry.context import current_request

ACCESS_LOGGER = "agora.access"
_access = logging.getLogger(ACCESS_LOGGER)
# What an access line adds to the record, under this attribute.
_FIELDS = "agora_fields"
# Fields of an access line that its message already says.
_IN_MESSAGE = frozenset({"method", "route", "status"})


class _Clock:
    """ISO 8601 times in UTC to the millisecond, the date and time of day formatted once
    a second rather than on every line."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def timestamp(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{int((created - second) * 1000):03d}Z"


class _AgoraFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self.clock = _Clock()
        # No line of agora's shows where a call was made, nor its thread or process: not
        # collecting them for every record is the logging HOWTO's own optimisation.
        logging._srcfile = None
        logging.logThreads = False
        logging.logProcesses = False
        logging.logMultiprocessing = False


class JsonFormatter(_AgoraFormatter):
    """A JSON object per line: time, level, logger, message, the request's id when the
    line is written for a request, an access line's fields, and an error's traceback."""

    encoder = json.JSONEncoder(ensure_ascii=False, default=str)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.clock.timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = current_request()
        if context is not None:
            line["request_id"] = context.request_id
        line.update(getattr(record, _FIELDS, ()))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return self.encoder.encode(line)


class ConsoleFormatter(_AgoraFormatter):
    """``time level logger [request id] message key=value…``, and an error's traceback
    below."""

    def format(self, record: logging.LogRecord) -> str:
        context = current_request()
        request = f" [{context.request_id}]" if context is not None else ""
        fields = "".join(
            f" {name}={value}"
            for name, value in getattr(record, _FIELDS, {}).items()
            if name not in _IN_MESSAGE
        )
        line = (
            f"{self.clock.timestamp(record.created)} {record.levelname:<7} {record.name}{request}"
            f" {record.getMessage()}{fields}"
        )
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def logging_config(log_format: str, level: str, *, access_log: bool = True) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the whole process (uvicorn applies it in each
    worker): every logger to standard output, as JSON lines when `log_format` is
    ``"json"``, else as plain text."""
    formatter = JsonFormatter if log_format == "json" else ConsoleFormatter
    handler = ["stdout"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"agora": {"()": formatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "agora",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "agora": {"handlers": handler, "level": level, "propagate": False},
            # At `level` like the rest, unless the access lines are turned off.
            ACCESS_LOGGER: {} if access_log else {"level": "WARNING"},
            "uvicorn": {"handlers": handler, "level": level, "propagate": False},
            # Replaced by agora's own access line.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
        "root": {"handlers": handler, "level": "WARNING"},
    }


def log_access(method: str, status: int, seconds: float) -> None:
    """The access line of the current request, once it is answered."""
    if not _access.isEnabledFor(logging.INFO):
        return
    context = current_request()
    route = context.route if context is not None else None
    fields = {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        "user_id": context.user_id if context is not None else None,
        "statements": context.statements if context is not None else 0,
    }
    _access.info("%s %s %d", method, route or "(no route)", status, extra={_FIELDS: fields})
