"""What text the register accepts: what PostgreSQL and JSON hold faithfully, and what shows as written.

PostgreSQL's text and jsonb cannot hold NUL, and a lone surrogate (U+D800-U+DFFF) has no UTF-8
form, so one such character in a name would break every view that reads it. Other control
characters and the noncharacters U+FFFE/U+FFFF are refused too: they hide in a name and garble a
report or an export. Single-line text (names, ids, numbers, holders) refuses them all; free text
(a reason) may also hold tab, line feed and carriage return.
"""

from __future__ import annotations

import re
import unicodedata

from domain.errors import InvalidValue

RULE = "text"
_C0_C1 = "\x00-\x1f\x7f-\x9f"
_UNHOLDABLE = "\ud800-\udfff\ufffe\uffff"
_REFUSED_IN_LINE = re.compile(f"[{_C0_C1}{_UNHOLDABLE}]")
_REFUSED_IN_FREE_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_UNHOLDABLE}]")


def text_fault(value: str, *, free: bool = False) -> str | None:
    """Why the register refuses ``value`` (the rule and the first character that breaks it), or None."""
    if value.isprintable():  # no refused character prints: the common case, without the search
        return None
    found = (_REFUSED_IN_FREE_TEXT if free else _REFUSED_IN_LINE).search(value)
    if found is None:
        return None
    char = found.group()
    code = f"U+{ord(char):04X}"
    if "\ud800" <= char <= "\udfff":
        return f"must not contain lone surrogates ({code}): text must be valid Unicode"
    if char in "\ufffe\uffff":
        return f"must not contain the noncharacters U+FFFE and U+FFFF ({code})"
    if char in "\t\n\r":
        return f"must be one line, without tabs or line breaks ({code})"
    return f"must not contain control characters ({code})"


def check_text(value: str, field: str | None = None, *, free: bool = False) -> str:
    """``value`` if the register can hold it; else a refusal (422) naming the field and the rule."""
    fault = text_fault(value, free=free)
    if fault is not None:
        raise InvalidValue(fault, field=field, rule=RULE)
    return value


_WORD = re.compile(r"[0-9a-z]+")


def search_words(text: str) -> list[str]:
    """The words of a name as a search compares them: lower case, without Vietnamese diacritics
    (``Nguyễn`` and ``nguyen`` are one word, ``Đ`` is ``d``), split at anything but a letter or digit."""
    plain = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return _WORD.findall("".join(c for c in plain if not unicodedata.combining(c)))
