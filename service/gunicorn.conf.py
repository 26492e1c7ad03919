"""gunicorn settings, from the environment.

Each worker opens its own pools: with PostgreSQL a worker holds at most
UNIONLEDGER_MAX_OPEN_TENANTS x (UNIONLEDGER_POOL_SIZE + UNIONLEDGER_POOL_OVERFLOW)
tenant connections plus 4 for the control store.
"""

import json
import os
import shutil
import sys
import tempfile
import time

import gunicorn.util

wsgi_app = "service.wsgi:app"
bind = os.environ.get("UNIONLEDGER_BIND", "127.0.0.1:8000")
_embedded = not (
    os.environ.get("UNIONLEDGER_DATABASE_URL")
    or os.environ.get("UNIONLEDGER_DATABASE_URLS")
    or os.environ.get("UNIONLEDGER_DATABASE_URLS_FILE")
)
# Every worker's metrics, kept in files of one folder that a scrape adds up (service/metrics.py). Set
# before any worker imports prometheus-client, which reads it then; a folder of this master's own,
# emptied at its start, so that no earlier run's counters are added in.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="unionledger-metrics-")
    _metrics_dir_made = True
else:
    _metrics_dir_made = False
    for _stale in os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"]):
        if _stale.endswith(".db"):
            os.unlink(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], _stale))
workers = int(os.environ.get("UNIONLEDGER_WORKERS") or (1 if _embedded else 2))
worker_class = "gthread"
# 16 threads: commands queued in one worker are saved together (group commit), so more
# requests in hand make larger groups; past 16 nothing more was gained.
threads = int(os.environ.get("UNIONLEDGER_THREADS") or 16)
timeout = int(os.environ.get("UNIONLEDGER_TIMEOUT") or 120)
accesslog = os.environ.get("UNIONLEDGER_ACCESS_LOG") or None
errorlog = "-"


def write_problem(sock, status_int, reason, mesg):
    """What gunicorn refuses itself (a request line or header too large, a malformed request) is
    answered as problem details too, as every error of the API is, instead of gunicorn's HTML."""
    body = json.dumps({"type": "about:blank", "status": status_int, "title": reason, "detail": mesg or reason}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    gunicorn.util.write_nonblock(sock, head.encode("latin-1") + body)


gunicorn.util.write_error = write_problem  # the workers call it through the module

_formatted_date = gunicorn.util.http_date
_date_of_second: tuple[int, str] = (-1, "")  # the last second answered and its Date header


def http_date(timestamp=None):
    """gunicorn's ``Date`` header of every answer, formatted once a second rather than once an
    answer (``email.utils.formatdate``): the header names the current second, so it is the same text."""
    global _date_of_second
    if timestamp is not None:
        return _formatted_date(timestamp)
    second = time.time_ns() // 1_000_000_000
    known, text = _date_of_second
    if known != second:
        text = _formatted_date(second)
        _date_of_second = (second, text)
    return text


gunicorn.util.http_date = http_date  # the workers' responses call it through the module


def on_starting(server):
    """Before workers start: make the admin token (embedded default), the demo, and say how to use them."""
    from service.startup import announce

    announce(demo=os.environ.get("UNIONLEDGER_DEMO") == "1", bind=bind)


def post_fork(server, worker):
    """Each worker, before it loads the app."""
    # A group commit's leader holds the tenant lock across several database round trips, and
    # after each waits for the GIL, which threads reading requests keep for up to the switch
    # interval: a short one gives the lock's holder back the GIL sooner.
    sys.setswitchinterval(0.001)
    # A worker (not the master, which only builds the demo) reads a tenant's indicator columns in
    # the background when it first opens the tenant, so that the first indicator question, draft
    # or verification it serves does not wait for them.
    os.environ.setdefault("UNIONLEDGER_WARM_COLUMNS", "1")


def child_exit(server, worker):
    """A worker gone: its gauges (pool use) leave the sum; its counters stay counted."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _metrics_dir_made:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def post_worker_init(worker):
    """Once the app is loaded: what it holds is kept out of the collector's reach, and the
    service's own log lines (failures, indicator columns read ahead) go where gunicorn's do."""
    import gc
    import logging

    # The loaded app's objects (modules, Flask, the schemas) live as long as the worker; frozen,
    # the collector no longer walks them, stopping every thread, at each full collection.
    gc.freeze()

    from service.resources.transfers import finish_in_background

    finish_in_background(getattr(worker, "wsgi", None))

    from service import logs

    if os.environ.get("UNIONLEDGER_LOG_FORMAT", "json") == "json":  # one JSON object a line, with the request's id
        logs.install(logging.INFO)
        return
    for name in logs.LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = list(worker.log.error_log.handlers)
        logger.setLevel(worker.log.error_log.level)
        logger.propagate = False
