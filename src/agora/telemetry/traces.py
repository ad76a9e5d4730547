"""Traces, opt-in (``AGORA_TRACING_ENABLED``): a span per request, named by its route
template and carrying its ``X-Request-ID``, and under it a span per SQL statement on
every engine.

Exported with OTLP over HTTP, configured by OpenTelemetry's usual variables
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``...). A process that has set up
its own tracer provider before the app is made (an embedding app, a test) keeps it.
Off, none of this runs: no middleware, no statement listener. The request spans are
the FastAPI instrumentation's, added by `agora.main.create_app`.

A statement's span holds its SQL text, never its parameters (a password's hash, an
email): the statements are parameterised, so the text holds no value.
"""

import os
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Engine

_SPAN = "agora_span"  # where a statement's span waits for the statement to end


def start_tracing(service_name: str) -> None:
    """This process's tracer provider, exporting by OTLP, unless one is set already.
    The SDK and the exporter (protobuf) are imported here: a service that does not
    trace does not pay for loading them at every worker's start."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    named = {} if "OTEL_SERVICE_NAME" in os.environ else {"service.name": service_name}
    provider = TracerProvider(resource=Resource.create(named))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def trace_statements(engine: Engine, role: str) -> None:
    """A client span per statement `engine` runs, as a child of the current span."""
    tracer = trace.get_tracer("agora.db")
    system = engine.dialect.name

    @event.listens_for(engine, "before_cursor_execute")
    def _start(
        _connection: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = tracer.start_span(
            f"{operation} {role}",
            kind=SpanKind.CLIENT,
            attributes={"db.system": system, "db.statement": statement, "agora.db.role": role},
        )
        setattr(context, _SPAN, span)

    @event.listens_for(engine, "after_cursor_execute")
    def _end(*args: Any) -> None:
        context = args[4]
        span = getattr(context, _SPAN, None)
        if span is not None:
            span.end()

    @event.listens_for(engine, "handle_error")
    def _fail(exception_context: Any) -> None:
        span = getattr(exception_context.execution_context, _SPAN, None)
        if span is not None:
            error = type(exception_context.original_exception).__name__
            span.set_status(Status(StatusCode.ERROR, error))
            span.end()
