"""The demo's stream carries the plans' other records and the seeds' targets for them (no I/O)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from demo.province import SECTOR_UNIT, ZONE_UNIT, demo_commands
from domain.commands import AssignTarget


def test_the_demo_records_each_kind_and_sets_the_seeds_targets():
    stream = list(demo_commands(date(2026, 12, 5)))
    kinds = Counter(command.__name__ for command, _kwargs in stream)
    for kind in ("RateUnion", "SignAgreement", "FoundWomensCommittee", "IssueCard", "RecordDues", "RecordTraining"):
        assert kinds[kind] > 50, kind
    assert kinds["HoldConference"] > 100
    targets = {
        (kw["unit_id"], kw["indicator"], kw["period"]): kw["value"] for command, kw in stream if command is AssignTarget
    }
    for year in ("2025", "2026"):
        assert targets[(SECTOR_UNIT, "unions_rated_good_pct", year)] == 80  # state
        assert targets[(ZONE_UNIT, "unions_rated_good_pct", year)] == 60  # non-state
        assert targets[(None, "cla_coverage_pct", year)] == 80
        assert targets[(None, "womens_committee_pct", year)] == 100
        assert targets[(None, "dues_collected_pct", year)] == 90


def test_records_dated_after_today_are_left_out():
    stream = list(demo_commands(date(2025, 6, 30)))
    assert not [kw for command, kw in stream if command.__name__ == "RecordTraining"]  # sent each October
    assert not [kw for command, kw in stream if kw.get("decided_on", date.min) > date(2025, 6, 30)]
