"""Error reports to Sentry, opt-in (``AGORA_SENTRY_DSN``): each unhandled error, the one
a client sees as a 500, with its traceback, the request's id and route as tags.

What is not reported: a 4xx, nor a 503 the service answers by design (a database that
is down, a saturated pool or hasher): those are the client's doing or a fault that the
metrics, `/readyz` and the logs show; an operator's inbox is for bugs. Log lines become
breadcrumbs of the next report, never reports themselves.

What a report never carries unless ``send_pii`` says so: cookies, the client's address,
the query string (a search may hold an email), the user. What it never carries at all: a
secret (Sentry filters the values of headers named like authorization, token, session),
a request body (passwords and refresh tokens travel in bodies) and the frames' local
variables (they hold the request's headers, a token).
Only the integrations named here run: Sentry's automatic ones would add the SQL
statements and the Redis keys (rate-limit keys hold a login) to every report.
"""

from typing import TYPE_CHECKING, Any

import sentry_sdk
from sentry_sdk.integrations.fastapi import FastApiIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration

from agora.telemetry.context import current_request

if TYPE_CHECKING:
    from sentry_sdk._types import DataCollectionUserOptions

# What Sentry's integrations collect on their own: nothing personal unless allowed. Values
# of keys that look secret (authorization, token, password, session...) are filtered by
# Sentry in every mode: a token is a secret, never personal data to report.
_PERSONAL_DATA_OFF: "DataCollectionUserOptions" = {
    "user_info": False,
    "cookies": {"mode": "off"},
    "http_headers": {"request": {"mode": "denylist", "terms": ["forwarded", "-ip", "via"]}},
    "http_bodies": [],
    "url_query_params": {"mode": "off"},
    "database_query_data": False,
    "queues": False,
    "stack_frame_variables": False,
}
_PERSONAL_DATA_ON: "DataCollectionUserOptions" = {
    "user_info": True,
    "cookies": {"mode": "denylist"},
    "http_headers": {"request": {"mode": "denylist"}},
    # Bodies carry the passwords and refresh tokens of logins, registrations and
    # password changes: never sent.
    "http_bodies": [],
    "url_query_params": {"mode": "denylist"},
    # A frame's variables hold whatever passed through it (the request's headers, a
    # token): never sent, personal data or not.
    "stack_frame_variables": False,
}


def start_error_reports(
    dsn: str,
    *,
    environment: str,
    release: str,
    sample_rate: float,
    traces_sample_rate: float,
    send_pii: bool,
) -> None:
    """Report this process's unhandled errors to `dsn` (called once per worker)."""
    # Handled errors are answers the service chose: none of their status codes is a report.
    handled: set[int] = set()
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        sample_rate=sample_rate,
        traces_sample_rate=traces_sample_rate or None,
        data_collection=_PERSONAL_DATA_ON if send_pii else _PERSONAL_DATA_OFF,
        auto_enabling_integrations=False,
        integrations=[
            StarletteIntegration(failed_request_status_codes=handled),
            FastApiIntegration(failed_request_status_codes=handled),
            LoggingIntegration(event_level=None),
        ],
        before_send=_with_request_context,
    )


def _with_request_context(event: Any, _hint: Any) -> Any:
    """The request's id and route as tags, to find the report from a log line (and back)."""
    context = current_request()
    if context is not None:
        tags = event.setdefault("tags", {})
        tags["request_id"] = context.request_id
        if context.route is not None:
            tags["route"] = context.route
    return event
