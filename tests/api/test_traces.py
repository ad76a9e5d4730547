"""Traces, with an in-memory exporter: a span per request under its route template with
its request id, and a span per SQL statement of that request beneath it."""

from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.config import Settings
from agora.db.session import Database
from tests.databases import empty_all_tables
from tests.factories import Accounts, app_client


@pytest.fixture(scope="session")
def exported() -> InMemorySpanExporter:
    """This test process's tracer provider (set once: OpenTelemetry keeps the first),
    which `create_app` keeps rather than set up OTLP."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


@pytest.fixture
async def traced(
    settings: Settings, engine: AsyncEngine, exported: InMemorySpanExporter
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app with tracing on, on engines of its own (emptied after)."""
    tracing = settings.model_copy(update={"tracing_enabled": True})
    try:
        async with (
            Database.from_settings(tracing) as database,
            app_client(tracing, database) as client,
        ):
            exported.clear()
            yield client
    finally:
        await empty_all_tables(engine)


def spans_of(exported: InMemorySpanExporter, request_id: str) -> list[ReadableSpan]:
    """The spans of the trace whose request span carries `request_id`."""
    (server,) = [
        span
        for span in exported.get_finished_spans()
        if span.kind == SpanKind.SERVER
        and (span.attributes or {}).get("http.response.header.x_request_id") == (request_id,)
    ]
    trace_id = server.context.trace_id
    return [span for span in exported.get_finished_spans() if span.context.trace_id == trace_id]


async def test_a_request_and_each_of_its_statements_are_spans(
    settings: Settings, traced: httpx.AsyncClient, exported: InMemorySpanExporter
) -> None:
    account = await Accounts(traced, None, settings).user()
    read = await traced.get(
        f"/api/v1/users/{account.id}", headers={**account.headers, "X-Request-ID": "traced-1"}
    )
    assert read.status_code == 200

    spans = spans_of(exported, "traced-1")
    (server,) = [span for span in spans if span.kind == SpanKind.SERVER]
    assert server.name == "GET /api/v1/users/{user_id}"
    statements = [span for span in spans if span.kind == SpanKind.CLIENT]
    assert len(statements) >= 2  # the caller's session and account, then the user
    for statement in statements:
        assert statement.parent is not None
        assert statement.parent.span_id == server.context.span_id
        attributes = statement.attributes or {}
        assert attributes["db.system"] == settings.database_url.split("+")[0]
        assert "SELECT" in str(attributes["db.statement"]).upper()
        assert account.email not in str(attributes["db.statement"])
