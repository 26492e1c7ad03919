"""What an admission's request makes in a few lines: its id, its answer's and its log line's text."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid

import pytest
from flask import Flask

from service import logs
from service.json_text import one_shot


def test_a_new_request_id_is_uuid4_hex_of_the_same_random_bits(monkeypatch):
    for drawn in [bytes(16), b"\xff" * 16, *(os.urandom(16) for _ in range(200))]:
        monkeypatch.setattr(os, "urandom", lambda n, drawn=drawn: drawn[:n])
        assert logs.new_request_id() == uuid.UUID(bytes=drawn, version=4).hex


VALUES = [
    {"id": "m-1", "full_name": "Nguyễn Thị Hoa", "birth_date": None, "erased": False, "version": 1, "ms": 12.5},
    {"nested": [1, 2.0, None, True, {"z": "\u2028", "a": "\x01"}], "big": 10**30, "nan": float("nan")},
    {"when": dt.datetime(2026, 12, 7, 3, 4, 5, tzinfo=dt.UTC), "day": dt.date(2026, 1, 2), 3: "number key"},
    "a text alone",
    [],
]


@pytest.mark.parametrize("value", VALUES)
def test_the_encoder_made_once_writes_what_json_writes(value):
    flask = Flask("test").json
    encoders = [
        json.JSONEncoder(ensure_ascii=False, default=str),
        json.JSONEncoder(default=flask.default, ensure_ascii=False, separators=(",", ":")),
        json.JSONEncoder(sort_keys=True, default=str),
    ]
    for encoder in encoders:
        assert written(one_shot(encoder), value) == written(encoder.encode, value)


def written(encode, value) -> str | type:  # type: ignore[no-untyped-def]
    """The text, or the kind of error (keys of two types sorted)."""
    try:
        return encode(value)
    except TypeError as error:
        return type(error)


def test_a_pretty_encoder_is_json_own():
    encoder = json.JSONEncoder(indent=2)
    assert one_shot(encoder) == encoder.encode
