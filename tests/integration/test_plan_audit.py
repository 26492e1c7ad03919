"""The offline audit replays the plans' records from an export and gives the API's plan figures."""

from __future__ import annotations

import json

from tests.api.test_plan_indicators import PLAN_CODES, build
from tests.integration.test_chain import digest, run  # noqa: F401  (run is a fixture)


def test_an_export_audits_the_plan_indicators_offline(tenant, run, tmp_path):  # noqa: F811
    marks = build(tenant)
    anchor = digest(tenant)
    out = tmp_path / "ledger.jsonl.gz"
    assert run("export", "--tenant", tenant.id, "--out", str(out)).exit_code == 0
    codes = ",".join(PLAN_CODES)
    questions = [
        {"period": "2025", "as_of": "2025-12-31"},
        {"period": "2025", "as_of": "2025-12-31", "known_at": marks["before"]},
        {"period": "2025", "as_of": "2025-12-31", "unit_id": "D1"},
        {"period": "2025-Q1", "as_of": "2025-06-30", "unit_id": "D2"},
    ]
    offline = []
    for q in questions:
        api = tenant.get("/indicators", indicators=codes, **q).get_json()["figures"]
        args = ["audit", str(out), "--digest", anchor, "--period", q["period"], "--indicators", codes]
        for option, key in (("--unit", "unit_id"), ("--as-of", "as_of"), ("--known-at", "known_at")):
            if key in q:
                args += [option, q[key]]
        result = run(*args)
        assert result.exit_code == 0, result.output
        offline.append(json.loads(result.stdout)["figures"])
        assert offline[-1] == api, q
    # the hand-worked figures of tests/api/test_plan_indicators.py, now and before the late records
    now, then = offline[0], offline[1]
    assert (now["unions_rated_good_pct"], now["dues_collected_pct"], now["members_with_card_pct"]) == (50.0, 87.5, 48.6)
    assert (then["unions_rated_good_pct"], then["dues_collected_pct"], then["members_with_card_pct"]) == (
        25.0,
        85.0,
        45.7,
    )
