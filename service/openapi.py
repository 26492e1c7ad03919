"""The published contract: every error is problem details, and each call lists the statuses it answers."""

from __future__ import annotations

import http
from collections.abc import Callable

from apispec import BasePlugin
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from service.auth import PUBLIC_PATHS
from service.errors import PROBLEM
from service.schemas import ProblemSchema

OPEN_OPERATIONS = {("/v1/sessions", "post")}  # the login: it is how a user gets a token


class ErrorStatuses(BasePlugin):
    """Add the error statuses the contract gives each kind of call, as problem details: every call
    under /v1 may be 401 or 403, 422 for a query string holding text the register cannot hold
    (service/urls.py), 429 for an address that failed to authenticate too often, or 503 while the
    database does not answer; a tenant's may be 404; and a call that reads a body may find it
    unreadable (400) or too large (413, its limit said in the body's description) or have a rule
    refuse what it says (409)."""

    def __init__(self, body_limit: Callable[[str], tuple[int, str]]):
        super().__init__()
        self.body_limit = body_limit  # endpoint -> (bytes, the variable that sets them)

    def operation_helper(self, path=None, operations=None, **kwargs):
        if not path or not path.startswith("/v1/"):
            return  # probes and the document itself answer without a token
        rule = kwargs.get("rule")
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            statuses = ["UNAUTHORIZED", "FORBIDDEN", "UNPROCESSABLE_ENTITY", "TOO_MANY_REQUESTS", "SERVICE_UNAVAILABLE"]
            if "{tenant}" in path:
                statuses.append("NOT_FOUND")
            if "requestBody" in operation:
                statuses += ["BAD_REQUEST", "REQUEST_ENTITY_TOO_LARGE", "CONFLICT"]
                limit, variable = self.body_limit(rule.endpoint)
                body = operation["requestBody"]
                said = f"At most {limit} bytes (`{variable}`): a larger request is refused (413) before it is read."
                body["description"] = f"{body['description']} {said}" if body.get("description") else said
            for name in statuses:
                responses.setdefault(str(http.HTTPStatus[name].value), name)


class OpenCalls(BasePlugin):
    """Declare no authentication (`security: []`) on the calls service/auth.py answers without a token
    (the probes, and the login), so the document says what the service does; every other call keeps
    the bearer."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if path in PUBLIC_PATHS or (path, method) in OPEN_OPERATIONS:
                operation["security"] = []


class ContractApi(Api):
    """flask-smorest's Api, documenting its errors as the problem details the service answers."""

    # flask-smorest takes any schema here (it only documents errors); its type is read off its default
    ERROR_SCHEMA = ProblemSchema  # type: ignore[assignment]

    def _register_responses(self):
        # flask-smorest registers these as application/json; the service answers application/problem+json
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            if status == http.HTTPStatus.SERVICE_UNAVAILABLE:
                response["headers"] = {
                    "Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}
                }
            if status == http.HTTPStatus.TOO_MANY_REQUESTS:
                response["headers"] = {
                    "Retry-After": {
                        "description": "Seconds until the address's window of failed authentications passes",
                        "schema": {"type": "integer"},
                    }
                }
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Problem details (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)
