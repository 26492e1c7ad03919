"""Every console page declares the action it performs (or that it is public), as every API call does."""

from __future__ import annotations

import pytest

from application.policy import Action
from service.app import create_app
from tenants.bootstrap import bootstrap


def test_every_console_page_declares_its_action(app):
    import console

    pages = {e: v for e, v in app.view_functions.items() if console.is_console(e) and e != "console.static"}
    assert len(pages) > 20 and console.undeclared(app) == []
    assert pages["console.forms.admit"].action == Action.RECORD_MEMBERS
    assert pages["console.reports.verify"].action == Action.VERIFY
    assert pages["console.register.members"].action == Action.LIST_MEMBERS
    assert pages["console.admin.tokens"].action == Action.MANAGE


def test_a_console_page_that_declares_nothing_stops_the_start(settings, monkeypatch):
    from console import forms

    monkeypatch.delattr(forms.admit, "action")
    platform = bootstrap(settings)
    try:
        with pytest.raises(RuntimeError, match="console.forms.admit"):
            create_app(settings, platform)
    finally:
        platform.close()
