"""The interpreter lock while an import writes: handed on quickly, as before once no import writes."""

import sys
import threading

import pytest

from application import imports


def test_the_lock_is_handed_on_quickly_while_any_import_of_the_process_writes():
    before = sys.getswitchinterval()
    assert imports.WRITE_SWITCH_INTERVAL is not None
    assert before > imports.WRITE_SWITCH_INTERVAL
    first_in, second_out, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, float] = {}

    def first() -> None:
        with imports._lock_handed_on_quickly():
            first_in.set()
            second_out.wait(5)
            seen["first, after the second ended"] = sys.getswitchinterval()
        first_out.set()

    writer = threading.Thread(target=first)
    writer.start()
    first_in.wait(5)
    with imports._lock_handed_on_quickly():  # a second import of the same process, beside it
        seen["both writing"] = sys.getswitchinterval()
    second_out.set()
    first_out.wait(5)
    writer.join(5)
    assert seen == {
        "both writing": pytest.approx(imports.WRITE_SWITCH_INTERVAL),
        "first, after the second ended": pytest.approx(imports.WRITE_SWITCH_INTERVAL),
    }
    assert sys.getswitchinterval() == pytest.approx(before)


def test_an_import_that_fails_restores_the_interval(monkeypatch):
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError), imports._lock_handed_on_quickly():
        raise RuntimeError("a bad chunk")
    assert sys.getswitchinterval() == pytest.approx(before)
    monkeypatch.setattr(imports, "WRITE_SWITCH_INTERVAL", None)
    with imports._lock_handed_on_quickly():
        assert sys.getswitchinterval() == pytest.approx(before)
