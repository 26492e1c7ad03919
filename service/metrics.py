"""``GET /metrics`` in the Prometheus text format, and the counting of each request for it.

Under gunicorn each worker counts what it serves: with ``PROMETHEUS_MULTIPROC_DIR`` set (the
gunicorn config sets it, to a folder of its own made at the master's start) prometheus-client
keeps every worker's counters in files there, and a scrape, whichever worker serves it, adds them
up; a worker that exits is marked dead, so its gauges leave the sum. How far each tenant's views
and hash chain trail its ledger is read from the databases at the scrape itself.

Who may read it: the platform admin token, or the token of ``UNIONLEDGER_METRICS_TOKEN`` (a
scraper's own, so that Prometheus need not hold the admin's). It names tenants and servers, so
it is not public; a tenant's or a national token is refused (403).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import values as _values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from projections.base import MAIN_LANE
from service import logs
from service.logs import REQUEST_ID_HEADER, request_id
from tenants.settings import schema_name

log = logging.getLogger("service.requests")
PATH = "/metrics"
POOL_EVERY_SECONDS = 1.0  # how often a worker renews its pool gauges (at the end of a request)
# Whether this process counts into the folder's files: prometheus-client chose once, when it was
# imported, from PROMETHEUS_MULTIPROC_DIR as it was then; a scrape reads the counts where they are.
COUNTED_IN_FILES = _values.ValueClass is not _values.MutexValue

REQUESTS = Counter("unionledger_requests", "HTTP requests answered, by route and status", ["method", "route", "status"])
LATENCY = Histogram(
    "unionledger_request_seconds",
    "Time to answer an HTTP request, by route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
COMMANDS = Counter(
    "unionledger_commands",
    "Commands sent to a tenant (POST and DELETE under its URL), by outcome",
    ["tenant", "outcome"],
)
POOL = Gauge(
    "unionledger_pool_connections",
    "Connections of the workers' pools per PostgreSQL server: held (size), in use, and requests waiting",
    ["server", "state"],
    multiprocess_mode="livesum",
)


# ---- counting each request --------------------------------------------------------------------
def started() -> None:
    """Before anything else of a request: its clock and its id."""
    g.metrics_started = time.perf_counter()
    request_id()


def finished(response: Response) -> Response:
    """After a request: counted, timed, logged as one line, and its id answered."""
    began = g.pop("metrics_started", None)
    seconds = time.perf_counter() - began if began is not None else 0.0
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    tenant = (request.view_args or {}).get("tenant")
    response.headers[REQUEST_ID_HEADER] = request_id()
    count(current_app._get_current_object(), request.method, route, response.status_code, seconds, tenant)  # type: ignore[attr-defined]
    return response


def count(app: Any, method: str, route: str, status_code: int, seconds: float, tenant: str | None) -> None:
    """One answered request counted, timed and logged as one line (the line names the request
    through Flask's context, or service/logs.py ANSWERING outside it)."""
    status = str(status_code)
    _series(REQUESTS, method, route, status).inc()
    _series(LATENCY, method, route).observe(seconds)
    if tenant is not None and method in ("POST", "DELETE") and status_code != 404:
        outcome = "done" if status_code < 400 else "refused" if status_code < 500 else "failed"
        _series(COMMANDS, tenant, outcome).inc()
    fields = {"status": status_code, "ms": round(seconds * 1000, 1), "tenant": tenant}
    logs.info(log, "%s %s %s", (method, route, status), fields)
    _renew_pools(app)


_SERIES: dict[tuple, Any] = {}  # (metric, its label values) -> the metric's child for them


def _series(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)``, found again in a dict: a request's series are a handful, and
    ``labels`` checks, converts and locks at each call. The children are prometheus-client's own,
    which it keeps as long as this does."""
    key = (metric, values)
    child = _SERIES.get(key)
    if child is None:
        child = _SERIES[key] = metric.labels(*values)
    return child


def _renew_pools(app: Any) -> None:
    """This worker's pool gauges, renewed at most once a second (a scrape reads what each worker last wrote)."""
    now = time.monotonic()
    if now - app.extensions.get("unionledger.pools_renewed", 0.0) < POOL_EVERY_SECONDS:
        return
    app.extensions["unionledger.pools_renewed"] = now
    platform = app.extensions["unionledger"]
    use = platform.stores.pool_use()
    control = platform.registry.pool_use()
    if control is not None:
        mine = use.setdefault(platform.settings.default_server, {"size": 0, "in_use": 0, "waiting": 0})
        for state, count in control.items():
            mine[state] += count
    for server in platform.settings.server_urls:
        for state in ("size", "in_use", "waiting"):
            POOL.labels(server, state).set(use.get(server, {}).get(state, 0))


# ---- who may read them ------------------------------------------------------------------------
def is_scraper(token: str, settings: Any) -> bool:
    """Whether the token is the scraper's (UNIONLEDGER_METRICS_TOKEN)."""
    scraper = settings.metrics_token
    return bool(scraper and token and hmac.compare_digest(token.encode(), scraper.encode()))


# ---- the scrape -------------------------------------------------------------------------------
def exposition(platform: Any) -> Response:
    """Every worker's counters (or this process's), and the tenants' lag read now."""
    registry = CollectorRegistry()
    if COUNTED_IN_FILES:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(Lag(platform))
    return Response(
        generate_latest(registry), mimetype=CONTENT_TYPE_LATEST.split(";")[0], content_type=CONTENT_TYPE_LATEST
    )


class _ThisProcess(Collector):
    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


class Lag(Collector):
    """How many events of each tenant's ledger its views and its hash chain have not taken yet
    (0 when current), and whether each server answered the scrape."""

    def __init__(self, platform: Any):
        self.platform = platform

    def collect(self) -> Iterator[Any]:
        views = GaugeMetricFamily(
            "unionledger_views_behind_events", "Events of the ledger its views have not applied", labels=["tenant"]
        )
        chain = GaugeMetricFamily(
            "unionledger_chain_behind_events", "Events of the ledger its hash chain has not linked", labels=["tenant"]
        )
        ledger = GaugeMetricFamily("unionledger_ledger_events", "Events a tenant's ledger holds", labels=["tenant"])
        up = GaugeMetricFamily("unionledger_server_up", "Whether the server answered the scrape", labels=["server"])
        for server, answered, rows in self._read():
            if server is not None:
                up.add_metric([server], 1.0 if answered else 0.0)
            for tenant_id, recorded, applied, linked in rows:
                ledger.add_metric([tenant_id], recorded)
                views.add_metric([tenant_id], max(0, recorded - applied))
                chain.add_metric([tenant_id], max(0, recorded - linked))
        yield from (ledger, views, chain, up)

    def _read(self) -> Iterator[tuple[str | None, bool, list[tuple[str, int, int, int]]]]:
        settings, tenants = self.platform.settings, self.platform.registry.tenants()
        if settings.backend != "postgres":
            rows = []
            for tenant in tenants:
                with self.platform.stores.use(tenant["id"]) as store:
                    state = store.projector.state()
                    rows.append((tenant["id"], state.ledger, state.views if state.intact else 0, store.chain.chained()))
            yield None, True, rows
            return
        import psycopg

        placed: dict[str, list[str]] = {name: [] for name in settings.server_urls}
        for tenant in tenants:
            placed.setdefault(tenant["server"], []).append(tenant["id"])
        for server, tenant_ids in placed.items():
            try:
                with psycopg.connect(
                    settings.conninfo(server),
                    connect_timeout=settings.db_timeout,
                    autocommit=True,
                    **settings.connect_options(),
                ) as conn:
                    yield server, True, [row for t in tenant_ids if (row := _lag(conn, t)) is not None]
            except (psycopg.Error, KeyError) as error:
                log.warning("server %s did not answer the metrics' scrape (%s)", server, type(error).__name__)
                yield server, False, []


def _lag(conn: Any, tenant_id: str) -> tuple[str, int, int, int] | None:
    """The tenant's ledger, views and chain positions, in one statement (None: no store there yet)."""
    from psycopg import sql

    from tenants.stores import view_projections

    schema = schema_name(tenant_id)
    if conn.execute("SELECT to_regclass(%s)", (f'"{schema}".ledger_chain',)).fetchone()[0] is None:
        return None
    lanes = sorted({MAIN_LANE, *(p.lane for p in view_projections())})
    row = conn.execute(
        sql.SQL(
            "SELECT (SELECT max(notification_id) FROM {s}.ledger_events),"
            " (SELECT min(position) FROM {s}.view_positions WHERE name = ANY(%s)),"
            " EXISTS (SELECT 1 FROM {s}.views_intact), (SELECT max(position) FROM {s}.ledger_chain)"
        ).format(s=sql.Identifier(schema)),
        (lanes,),
    ).fetchone()
    recorded, applied, intact, linked = row
    return tenant_id, recorded or 0, (applied or 0) if intact else 0, linked or 0
