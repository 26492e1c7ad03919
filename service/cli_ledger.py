"""``unionledger ledger verify``, ``unionledger export`` and ``unionledger audit``: the ledger's integrity."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

import click


def _digest(_ctx, _param, value: str | None):
    from domain.errors import InvalidValue
    from integrity.chain import Digest

    try:
        return Digest.parse(value) if value else None
    except InvalidValue as error:
        raise click.BadParameter(error.message) from None


DIGEST_HELP = "A digest taken earlier (GET .../ledger/digest): HASH@POSITION"


@contextmanager
def tenant_register(tenant: str) -> Iterator:
    """The tenant's register, for one command of the command line."""
    from application.register import Register
    from tenants.bootstrap import bootstrap

    platform = bootstrap()
    try:
        if platform.registry.tenant(tenant) is None:
            raise click.ClickException(f"tenant {tenant!r} does not exist")
        with platform.stores.use(tenant) as store:
            yield Register(store)
    finally:
        platform.close()


@click.group()
def ledger() -> None:
    """The ledger's hash chain."""


@ledger.command()
@click.option("--tenant", required=True, help="Tenant id")
@click.option("--digest", callback=_digest, help=DIGEST_HELP)
def verify(tenant: str, digest) -> None:
    """Recompute the chain from the stored events; fail at the first position that no longer matches."""
    from integrity.chain import ChainBroken

    with tenant_register(tenant) as register:
        try:
            with click.progressbar(length=register.recorded(), label=f"Verifying {tenant}", show_pos=True) as bar:
                result = register.verify_chain(digest, progress=bar.update)
        except ChainBroken as error:
            raise click.ClickException(f"the ledger of {tenant} fails verification at {error.message}") from None
    unchained = result.events - result.chained
    click.echo(
        f"The ledger of {tenant} verifies: {result.events} events, chained up to position {result.chained}"
        + (f" ({unchained} recorded since, not chained yet)" if unchained else "")
        + (f"; it extends the digest {digest}" if digest else "")
        + "."
    )


@click.command()
@click.option("--tenant", required=True, help="Tenant id")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="The file to write (gzip JSON lines)",
)
def export(tenant: str, out: str) -> None:
    """Export a tenant's ledger with its chain, for `unionledger audit`."""
    from integrity.chain import ChainBroken

    with tenant_register(tenant) as register:
        try:
            with click.progressbar(length=register.recorded(), label=f"Exporting {tenant}", show_pos=True) as bar:
                upto, chunks = register.export(progress=bar.update)
                partial = out + ".part"  # never leave a truncated file under the real name
                with open(partial, "wb") as stream:
                    for chunk in chunks:
                        stream.write(chunk)
        except ChainBroken as error:
            raise click.ClickException(f"the ledger of {tenant} cannot be chained at {error.message}") from None
        os.replace(partial, out)
        head = register.digest()
    click.echo(f"Exported {upto} events of {tenant} to {out}; digest {head['hash']}@{head['position']}.")


class _Audit(click.Group):
    """``audit FILE ...`` replays an export (as before subcommands); ``audit consistency`` and
    ``audit inclusion`` check proofs."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["replay", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_Audit)
def audit() -> None:
    """Audit with no database and no service: an export replayed (audit FILE ...), or a checkpoint's proofs.

    \b
    unionledger audit FILE --digest HASH@POSITION --period 2025 [--key KEY]
    unionledger audit consistency OLD.json NEW.json --proof P.json --key KEY
    unionledger audit inclusion CHECKPOINT.json --proof P.json --key KEY
    """


KEY_HELP = "The tenant's public key: GET .../ledger/key saved as a file, or its public_key (base64)"


def _key(_ctx, _param, value: str | None) -> str | None:
    """A key file as GET /ledger/key answers it, a file holding the base64 key, or the base64 key itself."""
    if value is None:
        return None
    text = value
    if os.path.isfile(value):
        with open(value, encoding="utf-8") as stream:
            text = stream.read().strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = text
    if isinstance(data, dict):
        data = data.get("public_key")
    if not isinstance(data, str) or not data:
        raise click.BadParameter("must be a key as GET .../ledger/key answers it, or its public_key")
    return data


def _json(path: str, what: str) -> dict:
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot read {what} {path}: {error}") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path} is not {what} (a JSON object)")
    return data


def _signed(path: str, key: str) -> dict:
    """The checkpoint in ``path`` once its signature holds."""
    from integrity.merkle import ProofFailed, verify_checkpoint

    checkpoint = _json(path, "a checkpoint")
    try:
        verify_checkpoint(checkpoint, key)
    except ProofFailed as error:
        raise click.ClickException(f"{path}: {error}") from None
    return checkpoint


@audit.command()
@click.argument("old", type=click.Path(exists=True, dir_okay=False))
@click.argument("new", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--proof",
    "proof_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="GET .../ledger/consistency?from=OLD&to=NEW saved as a file",
)
@click.option("--key", required=True, callback=_key, help=KEY_HELP)
def consistency(old: str, new: str, proof_file: str, key: str) -> None:
    """Check that checkpoint NEW extends checkpoint OLD: nothing recorded before OLD was changed.

    Both signatures are checked with the key, then the RFC 9162 consistency proof from OLD's
    size to NEW's."""
    from integrity.merkle import ProofFailed, unhex, verify_consistency

    before, after = _signed(old, key), _signed(new, key)
    answer = _json(proof_file, "a consistency proof")
    if before["tenant"] != after["tenant"]:
        raise click.ClickException(f"the checkpoints are of two tenants: {before['tenant']}, {after['tenant']}")
    if (answer.get("from"), answer.get("to")) != (before["size"], after["size"]):
        raise click.ClickException(
            f"the proof goes from {answer.get('from')} to {answer.get('to')}; the checkpoints are of"
            f" {before['size']} and {after['size']} events: ask ?from={before['size']}&to={after['size']}"
        )
    try:
        verify_consistency(
            before["size"],
            after["size"],
            bytes.fromhex(before["root"]),
            bytes.fromhex(after["root"]),
            unhex(answer.get("proof")),
        )
    except ProofFailed as error:
        raise click.ClickException(
            f"INCONSISTENT: the checkpoint of {after['size']} events ({new}) does not extend the checkpoint of"
            f" {before['size']} events ({old}) of {before['tenant']}: {error}"
        ) from None
    click.echo(
        f"Consistent: the checkpoint of {after['size']} events of {after['tenant']} (root {after['root']}) extends"
        f" the checkpoint of {before['size']} events (root {before['root']}); both signed by key {after['key_id']}."
    )


@audit.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--proof",
    "proof_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="GET .../ledger/inclusion?position=P&size=N saved as a file",
)
@click.option("--key", required=True, callback=_key, help=KEY_HELP)
@click.option(
    "--export",
    "export_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="An export holding the event: its leaf hash is worked out from the event there, not taken from the proof",
)
def inclusion(checkpoint: str, proof_file: str, key: str, export_file: str | None) -> None:
    """Check that the event the proof names is in the ledger that CHECKPOINT signs, as it was recorded.

    The checkpoint's signature is checked with the key, then the RFC 9162 audit path from the
    event's leaf hash (computed from the event as stored when the proof was asked, or with
    --export from the event in that file) to its root."""
    from integrity.merkle import ProofFailed, unhex, verify_inclusion

    head = _signed(checkpoint, key)
    answer = _json(proof_file, "an inclusion proof")
    if export_file is not None:
        answer["leaf_hash"] = _leaf_in(export_file, answer.get("position"))
    if answer.get("size") != head["size"]:
        raise click.ClickException(
            f"the proof is for a tree of {answer.get('size')} events; the checkpoint is of {head['size']}:"
            f" ask ?position={answer.get('position')}&size={head['size']}"
        )
    try:
        position = int(answer["position"])
        (leaf,) = unhex([answer.get("leaf_hash")], "leaf_hash")
        verify_inclusion(position - 1, head["size"], leaf, unhex(answer.get("proof")), bytes.fromhex(head["root"]))
    except (KeyError, TypeError, ValueError) as error:
        raise click.ClickException(f"{proof_file} is not an inclusion proof ({error})") from None
    except ProofFailed as error:
        raise click.ClickException(
            f"NOT INCLUDED: the event at position {answer.get('position')} (leaf hash {answer.get('leaf_hash')}) is not"
            f" in the ledger the checkpoint of {head['size']} events signs: {error}"
        ) from None
    click.echo(
        f"Included: the event at position {position} (leaf hash {leaf.hex()}) is in the checkpoint of"
        f" {head['size']} events of {head['tenant']} (root {head['root']})."
    )


@audit.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--digest", required=True, callback=_digest, help=DIGEST_HELP)
@click.option("--key", default=None, callback=_key, help=KEY_HELP + "; the export's checkpoint must be signed with it")
@click.option("--period", required=True, help="2024, 2024-H1, 2024-Q3, 2024-05 or 2023-2028")
@click.option("--unit", "unit_id", default=None, help="A unit id; default the whole tenant")
@click.option(
    "--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Date of the stocks (YYYY-MM-DD)"
)
@click.option("--known-at", "known_at", default=None, help="ISO 8601 instant; UTC when no offset is given")
@click.option("--indicators", default=None, help="Comma-separated codes; default every code")
def replay(
    file: str,
    digest,
    key: str | None,
    period: str,
    unit_id: str | None,
    as_of,
    known_at: str | None,
    indicators: str | None,
) -> None:
    """Check an export's chain against a digest and its checkpoint's root, replay it offline and
    print its indicators (JSON).

    Needs no database server and no running service: the events are replayed through the
    register's own projections into an in-memory SQLite database.
    """
    from datetime import datetime

    from domain.errors import DomainError
    from integrity.chain import ChainBroken
    from integrity.merkle import ProofFailed
    from integrity.offline import ExportError
    from integrity.offline import audit as run_audit

    try:
        instant = datetime.fromisoformat(known_at) if known_at else None
    except ValueError:
        raise click.BadParameter("must be an ISO 8601 instant", param_hint="--known-at") from None
    try:
        verified, answer = run_audit(
            file,
            digest,
            key,
            period=period,
            unit_id=unit_id,
            as_of=as_of.date() if as_of else None,
            known_at=instant,
            indicators=indicators,
        )
    except ExportError as error:
        raise click.ClickException(str(error)) from None
    except ChainBroken as error:
        raise click.ClickException(f"{file} fails the chain check at {error.message}") from None
    except ProofFailed as error:
        raise click.ClickException(f"{file} fails the checkpoint check: {error}") from None
    except DomainError as error:
        raise click.ClickException(f"{error.field}: {error.message}" if error.field else error.message) from None
    click.echo(
        f"Chain OK: {verified.events} events, head {verified.head}@{verified.events}; extends the digest {digest}."
        + (" The checkpoint it carries is signed and is the root of its events." if _has_checkpoint(file) else ""),
        err=True,
    )
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2))


def _leaf_in(path: str, position: object) -> str:
    """The leaf hash of the event at ``position`` in an export file."""
    from integrity.chain import leaf_of
    from integrity.offline import ExportError, read_export

    try:
        entries = read_export(path).entries
    except ExportError as error:
        raise click.ClickException(str(error)) from None
    found = next((e for e in entries if e.position == position), None)
    if found is None:
        raise click.ClickException(f"{path} holds no position {position}")
    return leaf_of(found).hex()


def _has_checkpoint(path: str) -> bool:
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return "checkpoint" in json.loads(stream.readline())


@click.command()
def witness() -> None:
    """The national witness's round: check every tenant's checkpoint against the last one accepted (JSON)."""
    from application.witness import Witness
    from tenants.bootstrap import bootstrap

    platform = bootstrap()
    try:
        answer = Witness(platform).witness()
    finally:
        platform.close()
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
    if not all(t["consistent"] for t in answer["tenants"]):
        raise click.ClickException("a tenant's ledger is inconsistent with a checkpoint already witnessed (see alarms)")


@click.group()
def card() -> None:
    """Member cards, checked with no database and no service."""


@card.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", required=True, callback=_key, help=KEY_HELP)
def verify_card(file: str, key: str) -> None:
    """Check that the card in FILE (GET .../members/{id}/card saved as a file) is signed by KEY.

    Whether its holder is still an active member is the province's to say: POST /v1/cards/verification.
    """
    from integrity.cards import verify_card as verified
    from integrity.merkle import ProofFailed

    data = _json(file, "a card")
    try:
        fields = verified(data, key)
    except ProofFailed as error:
        raise click.ClickException(f"{file}: {error}") from None
    click.echo(
        f"valid: card {fields['card_no']} of member {fields['member_id']} (union {fields['union_id']}),"
        f" issued {fields['issued_on']} by {fields['tenant']}"
    )
