"""Every metric the service exports, in one place: the names an operator alerts on.

Counted with `prometheus-client`. Under several worker processes each worker writes its
figures to files in ``PROMETHEUS_MULTIPROC_DIR`` (set, and emptied, by ``agora serve
--workers N`` before the workers start) and `/metrics` sums them, whichever worker
answers: counters and histograms over every process that ever ran, gauges over the
processes alive (``livesum``).

Labels are bounded: a route is its template (``/api/v1/users/{user_id}``), never a raw
path; a request no route matched is not counted by route at all.
"""

from prometheus_client import Counter, Gauge, Histogram

# Seconds: a fast read is a few milliseconds, a slow export or login a second or more.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "agora_http_requests",
    "Requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "agora_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "agora_http_requests_in_flight",
    "Requests being answered now.",
    multiprocess_mode="livesum",
)

POOL_SIZE = Gauge(
    "agora_db_pool_size",
    "Connections each pool keeps (without overflow), by engine role.",
    ["role"],
    multiprocess_mode="livesum",
)
POOL_CHECKED_OUT = Gauge(
    "agora_db_pool_checked_out",
    "Connections in use, by engine role.",
    ["role"],
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "agora_db_pool_overflow",
    "Connections in use beyond the pool's size (its overflow at work), by engine role.",
    ["role"],
    multiprocess_mode="livesum",
)
POOL_WAIT = Histogram(
    "agora_db_pool_wait_seconds",
    "Time a unit of work waited for a connection, by engine role.",
    ["role"],
    buckets=WAIT_BUCKETS,
)
POOL_TIMEOUTS = Counter(
    "agora_db_pool_timeouts",
    "Units of work that found no connection within the pool timeout (503), by engine role.",
    ["role"],
)

UNIT_RETRIES = Counter(
    "agora_unit_of_work_retries",
    "Units of work run again after the database rolled them back, by cause.",
    ["cause"],
)
RATE_LIMITED = Counter(
    "agora_rate_limited",
    "Requests refused with 429, by the limit they hit.",
    ["limit"],
)
IDEMPOTENT_REPLAYS = Counter(
    "agora_idempotent_replays",
    "Retries answered with the stored response of their idempotency key.",
)

ORDERS_PAID = Counter("agora_orders_paid", "Orders paid (committed).")
TRANSFERS = Counter("agora_wallet_transfers", "Wallet transfers made (committed).")
LOGINS_FAILED = Counter("agora_logins_failed", "Logins refused as invalid_credentials.")
REFRESH_TOKEN_REUSES = Counter(
    "agora_refresh_token_reuses",
    "Used-up refresh tokens presented again; each ended its session.",
)
