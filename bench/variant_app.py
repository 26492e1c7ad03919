"""The service with some of its per-request work left out, to measure what each costs (bench.run's API phase).

``BENCH_WITHOUT`` names what is left out, comma-separated:

- ``tree``: commands add no leaves to the Merkle tree (the next chain extension adds them);
- ``metrics``: requests are neither counted nor timed for /metrics (their id is still answered);
- ``log``: no JSON line per request;
- ``recheck``: an open tenant's placement is never read again;
- ``one_trip``: a group's statements go in a pipeline, not as one text (application/commit.py);
- ``late_take``: a group is taken as the lock is asked for, its aggregates read with the ends (not once it is had);
- ``consulted``: every group reads its unions under the lock, none kept from the last (application/commit.py);
- ``short_switch``: the interpreter's switch interval left at Python's 5 ms, not the 1 ms gunicorn.conf.py sets;
- ``warm``: a tenant's indicator columns are not read ahead when a worker opens it;
- ``timeline``: nothing left out, but each request's and each group's steps are timed and written,
  one JSON line each, to ``BENCH_TIMELINE_DIR``/<the parts> (bench/timeline.py reads them).

Served by gunicorn exactly as service.wsgi is. Only for measuring: what it leaves out, the service
must do.
"""

from __future__ import annotations

import logging
import os
import sys

from flask import Response

WITHOUT = {part.strip() for part in os.environ.get("BENCH_WITHOUT", "").split(",") if part.strip()}
KNOWN = {"tree", "metrics", "log", "recheck", "one_trip", "late_take", "consulted", "short_switch", "warm", "timeline"}
if WITHOUT - KNOWN:
    raise ValueError(f"BENCH_WITHOUT names what it cannot leave out: {', '.join(sorted(WITHOUT - KNOWN))}")

if "tree" in WITHOUT:
    from integrity.tree import Tree

    Tree.link = lambda self, *args, **kwargs: None  # type: ignore[method-assign]

if "metrics" in WITHOUT:
    from service import logs, metrics

    def _finished(response: Response) -> Response:
        response.headers[logs.REQUEST_ID_HEADER] = logs.request_id()
        return response

    metrics.started = lambda: None
    metrics.finished = _finished

if "log" in WITHOUT:
    logging.getLogger("service.requests").disabled = True

if "one_trip" in WITHOUT:
    from application import commit

    commit.ONE_TRIP = False

if "consulted" in WITHOUT:
    from application import commit

    commit.KEEP_CONSULTED = False

if "late_take" in WITHOUT:
    from application import commit

    commit.TAKE_EARLY = True

if "short_switch" in WITHOUT:  # the app is loaded after post_fork, which set 1 ms
    sys.setswitchinterval(0.005)

if "recheck" in WITHOUT:
    from tenants import stores

    stores.PLACEMENT_RECHECK_SECONDS = float("inf")

if "warm" in WITHOUT:  # the store still says it is done, for the bench's wait (bench.serving)
    from tenants import stores

    def _not_warmed(self: stores.TenantStore) -> None:
        stores.log.info("tenant %s: indicator columns not read ahead: left out", self.tenant_id)

    stores.TenantStore.warm = _not_warmed  # type: ignore[method-assign]

if "timeline" in WITHOUT:
    from bench import timeline

    # a directory of its own for each variant timed, named by what else it leaves out
    timeline.install(os.path.join(os.environ.get("BENCH_TIMELINE_DIR") or "/tmp", "+".join(sorted(WITHOUT))))

from service.wsgi import app  # noqa: E402 - after what is left out

if "timeline" in WITHOUT:
    app.wsgi_app = timeline.timed_wsgi(app.wsgi_app)  # type: ignore[method-assign]

__all__ = ["app"]
