"""What a command's body must be before a schema reads it: one JSON object, sent as JSON."""

from __future__ import annotations

import json

from flask import current_app, request
from flask_smorest import abort

BODY_METHODS = ("POST", "PUT", "PATCH")
UPLOADS = ("imports",)  # blueprints that take files, not JSON


def reads_json_body(endpoint: str) -> bool:
    """Whether the call takes its arguments from a JSON body (as flask-smorest recorded them)."""
    view = current_app.view_functions.get(endpoint)
    parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(p.get("in") == "json" for p in parameters)


def require_json_object() -> None:
    """400 for a body that is missing where one is read, not JSON, too deep to read, or not an object.

    Without this a form-encoded body would read as an empty object (a 422 on every field), and a
    deeply nested one would exhaust the parser's recursion (a 500).
    """
    if request.method not in BODY_METHODS or request.endpoint is None or request.blueprint in UPLOADS:
        return
    raw = request.get_data(cache=True)
    if not raw:
        if reads_json_body(request.endpoint):
            abort(400, message="the request body is empty: send a JSON object")
        return
    if not request.is_json:
        abort(400, message="the body must be JSON, sent with 'Content-Type: application/json'")
    try:
        body = json.loads(raw)
    except RecursionError:
        abort(400, message="the request body nests too deeply to read")
    except ValueError:  # also a body that is not UTF-8
        abort(400, message="the request body is not valid JSON")
    if not isinstance(body, dict):
        abort(400, message="the request body must be a JSON object")
