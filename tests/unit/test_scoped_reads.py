"""No read escapes a scope: ScopedReads answers every public read of RegisterReads, and no other."""

from __future__ import annotations

import inspect

from application.reads import RegisterReads
from application.scoped_reads import ScopedReads


def public_methods(cls: type) -> set[str]:
    return {name for name, member in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


def test_scoped_reads_has_every_public_read_of_the_register_reads():
    assert public_methods(ScopedReads) == public_methods(RegisterReads)
    assert "member_page" in public_methods(ScopedReads)  # the sets were read, not both empty


def test_scoped_reads_inherits_nothing():
    """A wrapper, not a subclass: a read added to RegisterReads is missing here until it is kept to the scope."""
    assert ScopedReads.__mro__ == (ScopedReads, object)
