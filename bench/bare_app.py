"""The API benchmark's baseline: bare Flask + psycopg, one row inserted (and committed) per request.

Served by gunicorn with the service's own config (``-c service/gunicorn.conf.py``), so workers
and threads are the same; each worker's pool holds as many connections as a tenant store's
(``UNIONLEDGER_POOL_SIZE`` + ``UNIONLEDGER_POOL_OVERFLOW``). The table is
``BENCH_BARE_TABLE`` (schema.table) in ``UNIONLEDGER_DATABASE_URL``; bench.run creates it.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from psycopg import sql
from psycopg_pool import ConnectionPool

from tenants.settings import Settings

settings = Settings.from_env()
schema, table = os.environ["BENCH_BARE_TABLE"].split(".")
INSERT = sql.SQL("INSERT INTO {}.{} (id, union_id, admitted_on, gender, personal) VALUES (%s, %s, %s, %s, %s)").format(
    sql.Identifier(schema), sql.Identifier(table)
)
pool = ConnectionPool(
    settings.conninfo(), min_size=settings.pool_size, max_size=settings.pool_size + settings.pool_overflow, open=True
)
app = Flask("bare")


@app.get("/healthz")
def health():
    return {"status": "ok"}


@app.post("/v1/tenants/<tenant>/members")
def admit(tenant: str):
    body = request.get_json()
    row = (body["id"], body["union_id"], body["admitted_on"], body["gender"], body["full_name"])
    with pool.connection() as conn:  # commits on leaving
        conn.execute(INSERT, row)
    return jsonify({**body, "tenant": tenant}), 201
