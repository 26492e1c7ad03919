"""JSON text from the standard library's C encoder, made once for an encoder's settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _json
from typing import Any


def one_shot(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """``encoder.encode`` for values that hold no cycle (an answer, a log line): ``json`` makes its
    C encoder again at every call; this one is made once, the same text, without the search for
    cycles (a value with one fails with RecursionError rather than ValueError)."""
    make = getattr(_json, "c_make_encoder", None)  # None where the C accelerator is missing
    if make is None or encoder.indent is not None:
        return encoder.encode
    text = _json.encode_basestring_ascii if encoder.ensure_ascii else _json.encode_basestring
    chunks = make(
        None,
        encoder.default,
        text,
        None,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return text(value)
        return "".join(chunks(value, 0))

    return encode
