"""A batch (the demo's and the generator's way of recording) remembers aggregates between commands
and saves them together; its rules see what it decided before, saved or not, and a refused command
must leave nothing of itself in that memory."""

from __future__ import annotations

from datetime import date

import pytest

from application import commit
from application.register import Register
from domain.commands import AdmitMember, DissolveUnion, EstablishUnit, FoundUnion, RegisterWorkplace, TransferUnion
from domain.errors import Conflict


def structure(batch) -> None:
    """Districts d1 and d2, workplace w1 and its union u1 under d1."""
    for unit in ("d1", "d2"):
        batch.execute(EstablishUnit(id=unit, name=unit, kind="district", established_on=date(2020, 1, 1), actor="t"))
    batch.execute(
        RegisterWorkplace(id="w1", name="W", sector="private_enterprise", unit_id="d1", workers=50,
                          female_workers=20, as_of=date(2020, 1, 1), actor="t")
    )  # fmt: skip
    batch.execute(
        FoundUnion(id="u1", name="U", workplace_id="w1", unit_id="d1", founded_on=date(2020, 2, 1), actor="t")
    )


def test_a_batch_remembers_what_it_recorded_and_forgets_what_was_refused(app, tenant):
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        register = Register(store)
        with register.batch() as batch:
            structure(batch)
            # u1 is not saved yet: the rule reading the workplace's unions from the views still finds it.
            with pytest.raises(Conflict, match="already has an active union"):
                batch.execute(
                    FoundUnion(
                        id="u9", name="U9", workplace_id="w1", unit_id="d1", founded_on=date(2020, 3, 1), actor="t"
                    )
                )
            for n in range(3):
                batch.execute(
                    AdmitMember(
                        id=f"m{n}",
                        union_id="u1",
                        admitted_on=date(2020, 3, 1),
                        full_name="A",
                        gender="female",
                        actor="t",
                    )
                )
            # Refused after the union was read (members still active): the union stays as recorded.
            with pytest.raises(Conflict):
                batch.execute(DissolveUnion(union_id="u1", dissolved_on=date(2021, 1, 1), reason="closed", actor="t"))
            with pytest.raises(Conflict):  # refused: the same unit
                batch.execute(TransferUnion(union_id="u1", to_unit_id="d1", effective_on=date(2021, 1, 1), actor="t"))
            batch.execute(TransferUnion(union_id="u1", to_unit_id="d2", effective_on=date(2021, 1, 1), actor="t"))
            batch.execute(
                AdmitMember(
                    id="m3", union_id="u1", admitted_on=date(2021, 2, 1), full_name="B", gender="male", actor="t"
                )
            )
    tenant.get("/unions/u9", expect=404)
    union = tenant.get("/unions/u1").get_json()
    assert union["unit_id"] == "d2" and union.get("dissolved_on") is None
    assert [e["event"] for e in tenant.get("/unions/u1/history").get_json()["events"]] == [
        "UnionFounded",
        "UnionTransferred",
    ]
    assert tenant.figures("2021", unit_id="d2")["members_total"] == 4
    assert tenant.figures("2021", unit_id="d1")["members_total"] == 0


def test_a_group_whose_write_is_refused_leaves_its_changed_aggregates_forgotten(app, tenant, monkeypatch):
    """The union is changed in memory (transferred to d2) and then the group's write refused: the
    batch must read it again from the ledger, where it still lies under d1. Were the changed copy
    remembered, the repeated transfer would be refused as a transfer to the union's own unit, and the
    ledger's version would not match the copy's."""
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        register = Register(store)
        with register.batch() as batch:
            structure(batch)
            batch.save()
            batch.execute(TransferUnion(union_id="u1", to_unit_id="d2", effective_on=date(2021, 1, 1), actor="t"))

            def refused(*_args, **_kw):
                raise RuntimeError("the database refused the write")

            with monkeypatch.context() as patch:
                patch.setattr(commit, "record", refused)
                with pytest.raises(RuntimeError):
                    batch.save()
            batch.execute(TransferUnion(union_id="u1", to_unit_id="d2", effective_on=date(2021, 1, 1), actor="t"))
            batch.execute(
                AdmitMember(
                    id="m1", union_id="u1", admitted_on=date(2021, 2, 1), full_name="B", gender="male", actor="t"
                )
            )
    assert [e["event"] for e in tenant.get("/unions/u1/history").get_json()["events"]] == [
        "UnionFounded",
        "UnionTransferred",
    ]
    assert tenant.get("/unions/u1").get_json()["unit_id"] == "d2"
    assert tenant.figures("2021", unit_id="d2")["members_total"] == 1
