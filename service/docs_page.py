"""The docs page's assets: Swagger UI as the pinned flask-swagger-ui package ships it (its version is
Swagger UI's), served by the service itself, so that /docs works on a network with no internet."""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, send_from_directory

DIST = Path(flask_swagger_ui.__file__).parent / "dist"
VERSION = (DIST / "VERSION").read_text().strip().removeprefix("v")
ASSETS = f"/docs/assets/{VERSION}/"  # another version, another URL: a browser never keeps a stale copy
SWAGGER_UI_CONFIG = {"validatorUrl": None}  # no badge fetched from swagger.io's validator
YEAR = 365 * 24 * 60 * 60
TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}  # whatever the host's mime.types say

blp = Blueprint("docs_assets", __name__, url_prefix=ASSETS.rstrip("/"))


@blp.get("/<path:name>")
def asset(name: str):
    """A Swagger UI file, kept by browsers for a year: its URL names the version."""
    response = send_from_directory(DIST, name, mimetype=TYPES.get(Path(name).suffix), max_age=YEAR)
    response.cache_control.immutable = True
    return response
