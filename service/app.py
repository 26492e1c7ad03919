"""The application factory."""

from __future__ import annotations

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

import console
from service import access, auth, docs_page, errors, metrics, urls
from service.admissions import AdmissionRoute
from service.limits import body_limit
from service.openapi import ContractApi, ErrorStatuses, OpenCalls
from service.resources import (
    access_log,
    audit,
    cards,
    forms,
    health,
    imports,
    indicators,
    ledger,
    members,
    national,
    reports,
    series,
    sessions,
    targets,
    tenants,
    tokens,
    transfers,
    unions,
    units,
    users,
    workplaces,
)
from service.throttle import AuthThrottle
from tenants.bootstrap import Platform, bootstrap
from tenants.settings import Settings

BLUEPRINTS = (
    health,
    tenants,
    tokens,
    users,
    sessions,
    access_log,
    units,
    workplaces,
    unions,
    members,
    transfers,
    cards,
    indicators,
    series,
    targets,
    reports,
    forms,
    imports,
    audit,
    ledger,
    national,
)


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> Flask:
    app = Flask("unionledger")
    platform = platform or bootstrap(settings)
    settings = platform.settings
    app.config.update(
        API_TITLE="unionledger",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=docs_page.ASSETS,  # served by the service itself: the page works offline
        OPENAPI_SWAGGER_UI_CONFIG=docs_page.SWAGGER_UI_CONFIG,
        API_SPEC_OPTIONS={
            "info": {"description": "Event-sourced, multi-tenant register of Vietnam's trade-union federations."},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
        JSON_SORT_KEYS=False,
    )
    assert isinstance(app.json, DefaultJSONProvider)  # Flask's own: the app sets no other
    app.json.ensure_ascii = False
    limit = lambda endpoint: body_limit(settings, app.view_functions.get(endpoint))  # noqa: E731
    api = ContractApi(app, spec_kwargs={"extra_plugins": [ErrorStatuses(limit), OpenCalls()]})
    for module in BLUEPRINTS:
        api.register_blueprint(module.blp)
    app.register_blueprint(docs_page.blp)  # not an API call: left out of the OpenAPI document
    app.extensions["unionledger"] = platform
    console.install(app)  # the web console at /, on the same use cases and access policy
    undeclared = access.undeclared(app) + console.undeclared(app)
    if undeclared:  # else no one could call them: a mistake to find at once
        raise RuntimeError(f"endpoints that declare no roles: {', '.join(undeclared)}")
    errors.register(app)
    app.extensions["unionledger.throttle"] = AuthThrottle(
        platform.registry, settings.auth_failures, settings.auth_window_seconds
    )
    app.before_request(metrics.started)  # first: a refused request is counted and timed too
    app.after_request(metrics.finished)
    app.before_request(auth.authenticate)
    app.before_request(urls.check_url_text)  # in this order: a missing token is 401 whatever the URL
    app.teardown_request(auth.release)
    # The single admission answered in front of Flask (service/admissions.py); inside ProxyFix,
    # so that it sees the client's address as the proxies say it
    app.wsgi_app = AdmissionRoute(app, app.wsgi_app)  # type: ignore[method-assign]
    if settings.trusted_proxies:  # the client's address is the one the proxies in front say
        # Flask's documented way to wrap its WSGI app, which its typing declares a method
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    return app
