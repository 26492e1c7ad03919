"""The admission's quick reading and the quick answers give what marshmallow gives: the same
values for what it accepts, and its own refusals (it reads whatever the quick way does not)."""

from __future__ import annotations

import datetime as dt

import pytest
from marshmallow import Schema, ValidationError

from service.resources.members import MemberIn, MemberOut

GOOD = {
    "id": "m-2024.05:001",
    "union_id": "u-d02-c1-01",
    "admitted_on": "2024-05-01",
    "full_name": "Nguyễn Thị Hồng Nhung",
    "gender": "female",
    "birth_date": "1990-01-02",
    "id_number": "001090000123",
}


def _variants() -> list[dict]:
    bodies = [dict(GOOD), {k: v for k, v in GOOD.items() if k not in ("birth_date", "id_number")}]
    bodies.append({**GOOD, "birth_date": None, "id_number": None})
    odd = {
        "id": ["", "a b", "x" * 65, "x" * 64, "é", "abc\n", 7, None],
        "union_id": ["u/1", "", None, 3.5],
        "admitted_on": ["2024-02-30", "20240501", "2024-W01-1", "2024-05-01T00:00", "", 20240501, None],
        "full_name": ["", "x" * 300, "x" * 301, "An\tBình", "An\u0007", "\ud800", "  ", None, 5],
        "gender": ["other", "Female", "", None],
        "birth_date": ["1990-13-01", "", 19900102, "19900102"],
        "id_number": ["12345", "1" * 20, "1" * 21, "00109-0000", "", 123456, "ABCdef"],
    }
    for field, values in odd.items():
        for value in values:
            bodies.append({**GOOD, field: value})
    for field in GOOD:
        bodies.append({k: v for k, v in GOOD.items() if k != field})
    bodies += [{**GOOD, "extra": 1}, [], "text", None, {}]
    return bodies


def _marshmallow_load(body):
    try:
        return Schema.load(MemberIn(), body)
    except ValidationError as refused:
        return ("refused", refused.messages)


def _quick_load(body):
    try:
        return MemberIn().load(body)
    except ValidationError as refused:
        return ("refused", refused.messages)


@pytest.mark.parametrize("body", _variants(), ids=repr)
def test_an_admission_reads_as_marshmallow_reads_it(body):
    assert _quick_load(body) == _marshmallow_load(body)


def _member(**changes) -> dict:
    member = {
        "id": "m-1",
        "union_id": "u-1",
        "admitted_union_id": "u-1",
        "admitted_on": dt.date(2024, 5, 1),
        "gender": "male",
        "full_name": "Trần Văn An",
        "birth_date": dt.date(1990, 1, 2),
        "id_number": "001090000123",
        "left_on": None,
        "leave_reason": None,
        "status": "active",
        "personal_data_erased": False,
        "version": 1,
        "recorded_at": dt.datetime(2024, 5, 1, 3, 4, 5, 678901, tzinfo=dt.UTC),
        "updated_at": dt.datetime(2024, 5, 1, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=7))),
        "personal": b"sealed",
    }
    member.update(changes)
    return member


@pytest.mark.parametrize(
    "member",
    [
        _member(),
        _member(full_name=None, birth_date=None, id_number=None, personal_data_erased=True),
        _member(left_on=dt.date(2025, 1, 1), leave_reason="retired", status="left"),
        {k: v for k, v in _member().items() if k not in ("version", "updated_at")},
        _member(version=True),  # not an int: marshmallow's reading
        _member(birth_date=dt.datetime(1990, 1, 2, 5, 6)),  # a datetime in a date's field
        _member(gender=7),
    ],
    ids=repr,
)
def test_a_member_is_answered_as_marshmallow_answers(member):
    quick, slow = MemberOut().dump(member), Schema.dump(MemberOut(), member)
    assert quick == slow
    assert list(quick) == list(slow)


def test_a_narrowed_schema_is_answered_by_marshmallow():
    member = _member()
    assert MemberOut(only=("id", "status")).dump(member) == {"id": "m-1", "status": "active"}
    assert MemberOut().dump([member], many=True) == [Schema.dump(MemberOut(), member)]
