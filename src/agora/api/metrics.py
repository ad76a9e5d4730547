"""GET /metrics: the Prometheus text exposition, summed over every worker process.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``agora serve --workers N`` sets it), each scrape
reads the files every worker writes and sums them, so any worker answers for all; without
it, the process's own registry is the whole story. With ``AGORA_METRICS_TOKEN`` set, a
scrape needs ``Authorization: Bearer <token>`` (401 otherwise).
"""

import hmac
import os
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.security.utils import get_authorization_scheme_param
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from agora.api.routing import operation_id
from agora.config import Settings
from agora.kernel.errors import NotAuthenticated

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"

router = APIRouter(tags=["operations"], generate_unique_id_function=operation_id)


def prepare_multiprocess_metrics() -> Path:
    """Before several workers start: the directory where they write their figures
    (``PROMETHEUS_MULTIPROC_DIR`` if set, else a new temporary one, set for them),
    emptied, since figures of an earlier run would be added to this one's."""
    configured = os.environ.get(MULTIPROCESS_DIRECTORY)
    directory = Path(configured or tempfile.mkdtemp(prefix="agora-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_DIRECTORY] = str(directory)
    return directory


def forget_this_process() -> None:
    """When a worker stops: its gauges leave the sums (counters and histograms stay)."""
    if MULTIPROCESS_DIRECTORY in os.environ:
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # untyped upstream


def _registry() -> CollectorRegistry:
    if MULTIPROCESS_DIRECTORY not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
    return registry


def _check_token(request: Request, settings: Settings) -> None:
    if settings.metrics_token is None:
        return
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    expected = settings.metrics_token.get_secret_value()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise NotAuthenticated("A scrape needs the metrics token.")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        401: {"description": "not_authenticated: AGORA_METRICS_TOKEN is set and not sent"},
    },
)
async def metrics(request: Request) -> Response:
    """Every metric of `agora.telemetry.metrics`, with the process's own."""
    _check_token(request, request.app.state.settings)
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)
