"""The Vietnamese catalogue: every text of the console's code and templates is translated, and
the compiled catalogue the service reads is the one the .po file says."""

from __future__ import annotations

import io

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

import console

PO = console.HERE / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def test_every_text_of_the_console_has_its_vietnamese():
    catalogue = read_po(io.BytesIO(PO.read_bytes()))
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(console.HERE), METHODS, keywords={"_": None, "gettext": None, "lazy_gettext": None}
        )
        if isinstance(message, str) and message
    }
    untranslated = sorted(m for m in found if not (catalogue.get(m) and catalogue.get(m).string))
    assert untranslated == []
    assert len(found) > 100  # the extraction did find the console's texts


def test_the_compiled_catalogue_is_the_po_file():
    compiled = io.BytesIO()
    write_mo(compiled, read_po(io.BytesIO(PO.read_bytes())))
    compiled.seek(0)
    fresh = {m.id: m.string for m in read_mo(compiled) if m.id}
    kept = {m.id: m.string for m in read_mo(io.BytesIO(MO.read_bytes())) if m.id}
    assert kept == fresh, "run `make translations` and commit console/translations/vi/LC_MESSAGES/messages.mo"
