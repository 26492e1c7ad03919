"""gunicorn settings, from the environment.

Each worker opens its own pools: with PostgreSQL a worker holds at most
UNIONLEDGER_MAX_OPEN_TENANTS x (UNIONLEDGER_POOL_SIZE + UNIONLEDGER_POOL_OVERFLOW)
tenant connections plus 4 for the control store.
"""

import os

wsgi_app = "service.wsgi:app"
bind = os.environ.get("UNIONLEDGER_BIND", "127.0.0.1:8000")
_embedded = not os.environ.get("UNIONLEDGER_DATABASE_URL")
workers = int(os.environ.get("UNIONLEDGER_WORKERS") or (1 if _embedded else 2))
worker_class = "gthread"
threads = int(os.environ.get("UNIONLEDGER_THREADS") or 8)
timeout = int(os.environ.get("UNIONLEDGER_TIMEOUT") or 120)
accesslog = os.environ.get("UNIONLEDGER_ACCESS_LOG") or None
errorlog = "-"


def on_starting(server):
    """Before workers start: make the admin token (embedded default), the demo, and say how to use them."""
    from service.startup import announce

    announce(demo=os.environ.get("UNIONLEDGER_DEMO") == "1", bind=bind)
