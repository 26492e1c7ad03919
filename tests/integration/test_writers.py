"""One writer per tenant on the machine: another worker's admissions join the writer's group, and
a writer that goes away mid-command leaves nothing saved twice or half saved."""

from __future__ import annotations

import pickle
import socket
import threading
from datetime import date

import pytest

from application import commit, writers
from application.register import Register
from application.writers import WriterGone, Writers, _receive
from domain.commands import AdmitMember
from domain.errors import AlreadyExists
from tests.integration.test_group_commit import small_province, wait_until


def admission(member_id: str) -> AdmitMember:
    return AdmitMember(
        id=member_id,
        union_id="u1",
        admitted_on=date(2024, 1, 1),
        full_name="Phạm Thị Cúc",
        gender="female",
        birth_date=date(1995, 2, 3),
        id_number="001095000003",
        actor="tester",
    )


@pytest.fixture
def machine(app, tenant, tmp_path):
    """This process as the tenant's writer, and a second worker's side of the same folder."""
    if app.extensions["unionledger"].settings.backend != "postgres":
        pytest.skip("one writer per tenant is PostgreSQL's (SQLite's write transaction is the lock)")
    small_province(tenant)
    use = app.extensions["unionledger"].stores.use
    owner = writers.install(tmp_path, use)
    other = Writers(tmp_path, use)
    yield owner, other
    other.close()
    writers.uninstall()


def forwarded(store, other: Writers, command: AdmitMember):
    """``command`` as another worker sends it: checked and sealed there, saved by the writer."""
    sealed = Register(store)._sealed_ahead(command)
    return other.submit(store.tenant_id, (None, command, sealed, None), lambda: pytest.fail("saved by the sender"))


def test_a_group_holds_two_workers_admissions(app, tenant, machine, monkeypatch):
    owner, other = machine
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        register = Register(store)
        before = store.projector.ledger_position()
        saves: list[int] = []
        real_write = commit._write
        monkeypatch.setattr(
            commit,
            "_write",
            lambda store, cur, events, *rest: saves.append(len(events)) or real_write(store, cur, events, *rest),
        )
        register.execute(admission("m0"))  # the first write: this process becomes the tenant's writer
        assert saves == [1] and tenant.id in owner._owned
        outcomes: dict[str, object] = {}
        with store.lock():  # both queue behind a command in progress
            here = threading.Thread(target=lambda: outcomes.setdefault("here", register.execute(admission("m3"))))
            here.start()
            wait_until(lambda: register._group.queued() == 1)
            there = threading.Thread(
                target=lambda: outcomes.setdefault("there", forwarded(store, other, admission("m4")))
            )
            there.start()
            wait_until(lambda: register._group.queued() == 2)
        here.join(30)
        there.join(30)
        assert saves == [1, 2]  # one group, one save, for both workers' admissions
        assert outcomes["here"]["id"] == "m3" and outcomes["there"]["id"] == "m4"
        assert outcomes["there"]["full_name"] == "Phạm Thị Cúc" and outcomes["there"]["birth_date"] == date(1995, 2, 3)
        assert store.projector.ledger_position() == before + 3
        assert store.chain.verify().events == before + 3
        with pytest.raises(AlreadyExists):  # a refusal comes back as itself
            forwarded(store, other, admission("m4"))


def dying(owner: Writers, saves: bool):
    """A writer whose process ends with a forwarded command in hand, after saving it or before."""

    def serve(tenant_id: str, conn: socket.socket) -> None:
        from application.register import submit_grouped

        request = pickle.loads(_receive(conn))
        if saves:
            with owner.use(tenant_id) as store:
                submit_grouped(store, *request)
        owner.close()  # its lock freed and its socket gone, as the kernel does for a process killed
        conn.close()

    return serve


@pytest.mark.parametrize("saved", [False, True])
def test_a_writer_gone_mid_command_leaves_nothing_lost_or_twice(app, tenant, machine, monkeypatch, saved):
    """The writer stops with a forwarded admission in hand, before or after saving it: its sender
    answers an error; sent again, it is saved by the next writer, or refused as already there."""
    owner, other = machine
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        Register(store).execute(admission("m0"))  # this process becomes the tenant's writer
        before = store.projector.ledger_position()
        monkeypatch.setattr(owner, "_serve", dying(owner, saved))
        with pytest.raises(WriterGone):
            forwarded(store, other, admission("m5"))
        assert store.projector.ledger_position() == before + (1 if saved else 0)
        # Sent again: the writer's lock is free, so the sender becomes the writer and saves it itself.
        command = admission("m5")
        sealed = Register(store)._sealed_ahead(command)
        group = Register(store)._group
        request = (None, command, sealed, None)
        if saved:
            with pytest.raises(AlreadyExists):
                other.submit(tenant.id, request, lambda: group.submit(command, None, sealed, None))
        else:
            answer = other.submit(tenant.id, request, lambda: group.submit(command, None, sealed, None))
            assert answer["id"] == "m5"
        assert tenant.id in other._owned
        assert store.projector.ledger_position() == before + 1
        assert store.chain.verify().events == before + 1
