"""The application factory: ``create_app(settings) -> FastAPI``."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from agora import __version__
from agora.admin import router as admin
from agora.api import health, metrics
from agora.api.edge import Edge
from agora.api.errors import install_error_handlers
from agora.api.hosts import AllowedHosts
from agora.api.ratelimit import RateLimiter
from agora.api.routing import API_PREFIX, include_routes
from agora.api.security import TOKEN_URL
from agora.api.streaming import ExportSlots
from agora.auth import router as auth
from agora.auth.service import TokenAuthenticator
from agora.auth.tokens import TokenCodec
from agora.chat import router as chat
from agora.config import Settings, get_settings
from agora.dashboard import router as dashboard
from agora.db.session import Database
from agora.posts import router as posts
from agora.shop import router as shop
from agora.telemetry.reports import start_error_reports
from agora.telemetry.traces import start_tracing
from agora.users import router as users
from agora.users.passwords import PasswordHasher
from agora.wallet import router as wallet

# Included under API_PREFIX. A request's path is tried against the routes one by one in
# this order, and each try costs a noticeable part of a small read (BENCHMARKS.md, "The
# cost of idioms"), so the features most read (accounts, the catalogue, wallets) come
# first and the probes last. Only /users/me/dashboard overlaps another path; it must
# precede /users/{user_id}.
FEATURE_ROUTERS = (
    dashboard.router,
    users.router,
    shop.router,
    wallet.router,
    auth.router,
    posts.router,
    chat.router,
    admin.router,
)

# With dozens of requests in flight, CPython's default thresholds start collections that
# find nothing to free (a request's objects die by reference count) and now and then a
# full pass over the loaded code that stalls every request; a frozen startup heap and a
# higher threshold leave the collector the cycles it exists for (BENCHMARKS.md, "Where
# the time goes").
GC_THRESHOLDS = (10_000, 10, 10)


def settle_heap() -> None:
    """Collect once, move every object alive now out of the collector's sight for good
    (``gc.freeze``), and raise the thresholds: called once a served app has started."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the app. Without `database`, the lifespan opens (and closes) the engines
    described by `settings`; with one, the caller owns it (tests, embedding)."""
    settings = settings or get_settings()
    settings.check_servable()
    if settings.sentry_dsn is not None:
        start_error_reports(
            settings.sentry_dsn.get_secret_value(),
            environment=settings.sentry_environment or settings.environment,
            release=settings.sentry_release or f"agora@{__version__}",
            sample_rate=settings.sentry_sample_rate,
            traces_sample_rate=settings.sentry_traces_sample_rate,
            send_pii=settings.sentry_send_pii,
        )
    if settings.tracing_enabled:
        start_tracing("agora")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if database is not None:
            yield
            return
        async with Database.from_settings(settings) as app.state.database:
            settle_heap()
            yield
        metrics.forget_this_process()

    app = FastAPI(
        title="agora",
        version=__version__,
        summary="A community-marketplace API: accounts, blog, chat history, shop and wallet.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.password_hasher = PasswordHasher.from_settings(settings)
    app.state.token_codec = TokenCodec.from_settings(settings)
    app.state.authenticator = TokenAuthenticator(app.state.token_codec)
    app.state.rate_limiter = RateLimiter.from_settings(settings)
    app.state.export_slots = ExportSlots(
        per_user=settings.exports_per_user, send_timeout=settings.export_send_timeout_seconds
    )
    if database is not None:
        app.state.database = database
    install_error_handlers(app)
    hosts = AllowedHosts(settings.allowed_hosts, exempt_paths=health.PROBES)
    app.add_middleware(Edge, hosts=hosts, no_store_paths=frozenset({TOKEN_URL}))
    for router in FEATURE_ROUTERS:
        include_routes(app, router, prefix=API_PREFIX)
    include_routes(app, health.router)
    include_routes(app, metrics.router)
    if settings.tracing_enabled:
        trace_requests(app)
    return app


def trace_requests(app: FastAPI) -> None:
    """A span per request (none for each ASGI message; `agora.telemetry.traces`), with
    the request id the edge of the app sent back (``http.response.header.x_request_id``).
    Imported here, like the SDK, only by a service that traces."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        exclude_spans=["receive", "send"],
        http_capture_headers_server_response=["x-request-id"],
    )
