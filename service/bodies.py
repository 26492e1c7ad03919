"""What a command's body must be: one JSON object, sent as JSON."""

from __future__ import annotations

import json

import flask_smorest
from flask_smorest import abort
from webargs.flaskparser import FlaskParser, is_json_request


class JsonObjectParser(FlaskParser):
    """webargs' parser, with the body's own failures answered 400 where it reads the body.

    webargs would read a form-encoded or an empty body as no body (a 422 on every field), let a
    deeply nested one exhaust the parser's recursion (a 500), and hand a JSON array to the schema.
    Checking here, in the one parse of the body, costs a request nothing more.
    """

    def _raw_load_json(self, req):
        raw = req.get_data(cache=True)
        if not raw:
            abort(400, message="the request body is empty: send a JSON object")
        if not is_json_request(req):
            abort(400, message="the body must be JSON, sent with 'Content-Type: application/json'")
        try:
            body = json.loads(raw)
        except RecursionError:
            abort(400, message="the request body nests too deeply to read")
        except ValueError:  # also a body that is not UTF-8, or a number with too many digits
            abort(400, message="the request body is not valid JSON")
        if not isinstance(body, dict):
            abort(400, message="the request body must be a JSON object")
        return body


class Blueprint(flask_smorest.Blueprint):
    """A resource's blueprint: its JSON bodies are read by JsonObjectParser."""

    ARGUMENTS_PARSER: FlaskParser = JsonObjectParser()  # a subclass's may read other locations
