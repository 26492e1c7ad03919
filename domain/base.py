"""What every aggregate of the register shares: client-chosen ids and event metadata.

Every event carries ``actor`` (who sent the command), the business date it is
about (named per event, listed in ``BUSINESS_DATE``) and the library's
``timestamp``, the instant it was recorded. Every event also names its entity by
the client's id (``unit_id``, ``member_id``...), so a reader needs no lookup.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from hashlib import sha1
from uuid import NAMESPACE_URL, UUID, SafeUUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValue

ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_NAMESPACE = uuid5(NAMESPACE_URL, "https://unionledger/ids").bytes
# The version (5) and RFC 4122 variant bits of a name-based UUID.
_CLEAR, _SET = ~((0xF000 << 64) | (0xC000 << 48)), (5 << 76) | (0x8000 << 48)


def aggregate_id(kind: str, client_id: str) -> UUID:
    """The storage id of an entity: deterministic, so a duplicate id is a storage conflict.

    ``uuid5(namespace, f"{kind}:{client_id}")``, computed as uuid5 does but without its
    argument checks, which an import making millions of ids would pay for each."""
    made = object.__new__(UUID)
    object.__setattr__(made, "int", _id_number(kind, client_id))
    object.__setattr__(made, "is_safe", SafeUUID.unknown)
    return made


def aggregate_id_parts(kind: str, client_id: str) -> tuple[bytes, str]:
    """``aggregate_id``'s 16 bytes and its text, where only these are written (an import's
    ledger rows and chain), without the UUID object in between."""
    raw = _id_number(kind, client_id).to_bytes(16, "big")
    h = raw.hex()
    return raw, f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _id_number(kind: str, client_id: str) -> int:
    return int.from_bytes(sha1(_NAMESPACE + f"{kind}:{client_id}".encode()).digest()[:16]) & _CLEAR | _SET


def new_id(prefix: str) -> str:
    """Ids the service gives (targets, reports): short, random, never reused."""
    return f"{prefix}-{secrets.token_hex(6)}"


def one_of(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidValue(f"must be one of: {', '.join(allowed)}", field=field)
    return value


def not_after(day: date, today: date, field: str) -> date:
    """A business date may not lie in the future."""
    if day > today:
        raise InvalidValue("may not lie in the future", field=field)
    return day


def check_client_id(value: str, field: str = "id") -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InvalidValue("must be 1-64 characters of letters, digits and ._:-", field=field)
    return value


# Business date of each event, by event class name.
BUSINESS_DATE: dict[str, str] = {
    "UnitEstablished": "established_on",
    "UnitClosed": "closed_on",
    "WorkplaceRegistered": "as_of",
    "WorkforceSurveyed": "as_of",
    "UnionFounded": "founded_on",
    "UnionTransferred": "effective_on",
    "UnionDissolved": "dissolved_on",
    "MemberAdmitted": "admitted_on",
    "MemberTransferred": "effective_on",
    "MemberLeft": "left_on",
    "MemberTransferredIn": "effective_on",
    "MemberTransferredOut": "effective_on",
    "MemberTransferProposed": "effective_on",
    "MemberTransferRefused": "refused_on",
    "MemberTransferWithdrawn": "withdrawn_on",
    "MemberDataErased": "erased_on",
    "TargetAssigned": "assigned_on",
    "TargetRevised": "revised_on",
    "ReportSubmitted": "as_of",
    "ReportReplaced": "replaced_on",
    "ReportVerified": "verified_on",
    "NationalTargetAssigned": "assigned_on",
    "UnionRated": "decided_on",
    "WomensCommitteeFounded": "founded_on",
    "DuesRecorded": "recorded_on",
    "OfficialsTrainingRecorded": "recorded_on",
    "CollectiveAgreementSigned": "signed_on",
    "WorkersConferenceHeld": "held_on",
    "MemberCardIssued": "issued_on",
    "CardNumberAssigned": "assigned_on",
}


def business_date(event: object) -> date | None:
    name = BUSINESS_DATE.get(type(event).__name__)
    return getattr(event, name, None) if name else None


class RegisterAggregate(Aggregate):
    """An entity of the register, known to clients by its own ``id``."""

    KIND = ""
    id_attr = ""

    @property
    def client_id(self) -> str:
        return getattr(self, self.id_attr)

    @classmethod
    def storage_id(cls, client_id: str) -> UUID:
        return aggregate_id(cls.KIND, client_id)


def active_on(start: date, end: date | None, day: date) -> bool:
    """True when ``day`` lies in [start, end): the end date itself is no longer active."""
    return start <= day and (end is None or day < end)
