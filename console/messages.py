"""The API's refusals in the user's language: a form shows its errors beside the field, in
Vietnamese, from the catalogue. Fixed messages are looked up as the API words them; the
domain's refusals, whose text names ids and dates, by their rule."""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext

from domain.errors import DomainError
from tenants.passwords import MAX_LENGTH, MIN_LENGTH

MESSAGES = {
    "Missing data for required field.": lazy_gettext("This field is required."),
    "Not a valid date.": lazy_gettext("Not a valid date."),
    "Must be one of: female, male.": lazy_gettext("Choose female or male."),
    "Shorter than minimum length 1.": lazy_gettext("This field is required."),
    "Longer than maximum length 300.": lazy_gettext("At most 300 characters."),
    "must be 6-20 letters or digits": lazy_gettext("Must be 6 to 20 letters or digits."),
    "must be 1-64 characters of letters, digits and ._:-": lazy_gettext(
        "Must be 1 to 64 characters: letters, digits and . _ : -"
    ),
    "may not lie in the future": lazy_gettext("May not lie in the future."),
    "a count must be a whole number": lazy_gettext("Must be a whole number."),
    "must be a number": lazy_gettext("Must be a number."),
    "must lie between 0 and 10000000": lazy_gettext("Must lie between 0 and 10,000,000."),
    "cannot exceed workers": lazy_gettext("Cannot exceed the workers."),
    "must be 0 or more": lazy_gettext("Must be 0 or more."),
    "Longer than maximum length 100.": lazy_gettext("At most 100 characters."),
    "Length must be between 1 and 500.": lazy_gettext("This field is required (at most 500 characters)."),
    "must be before the admission date": lazy_gettext("Must be before the admission date."),
}
RULES = {
    "union_active": lazy_gettext("The union had not been founded by this date."),
    "union_dissolved": lazy_gettext("The union is dissolved."),
    "unique_id": lazy_gettext("This code is taken already."),
    "scope": lazy_gettext("Not found."),
    "exists": lazy_gettext("Does not exist in the register."),
    "date_order": lazy_gettext("This date is before an earlier record of it."),
    "same_union": lazy_gettext("The member is in this union already."),
    "same_unit": lazy_gettext("The union is under this unit already."),
    "unit_active": lazy_gettext("The unit is not active on this date."),
    "unit_closed": lazy_gettext("The unit is closed."),
    "unit_not_empty": lazy_gettext("Units, unions or workplaces are still active under it: name a successor."),
    "union_has_members": lazy_gettext(
        "The union still has active members on this date: they must leave or transfer first."
    ),
    "successor": lazy_gettext("This unit cannot succeed it."),
}


def explain(message: str, rule: str | None = None) -> str:
    """The message in the user's language; the API's own words where the catalogue has none."""
    if rule in RULES:
        return str(RULES[rule])
    if message in MESSAGES:
        return str(MESSAGES[message])
    return gettext(message)


def refusal(error: DomainError, fields_of_rule: dict[str, str]) -> tuple[str, str]:
    """(field, message) for a domain refusal: its field, else the field its rule is about, else the form."""
    field = error.field or fields_of_rule.get(error.rule or "", "form")
    return field, explain(error.message, error.rule)


WORDS = {
    # indicators
    "members_total": lazy_gettext("Members"),
    "unions_total": lazy_gettext("Grassroots unions"),
    "workplaces_eligible": lazy_gettext("Workplaces with 10 or more workers"),
    "workplaces_covered": lazy_gettext("Workplaces with a union"),
    "coverage_pct": lazy_gettext("Coverage"),
    "member_worker_ratio_pct": lazy_gettext("Members per worker"),
    "members_admitted": lazy_gettext("Members admitted"),
    "members_left": lazy_gettext("Members who left"),
    "members_transferred_in": lazy_gettext("Members who moved in from another province"),
    "members_transferred_out": lazy_gettext("Members who moved to another province"),
    "members_net_growth": lazy_gettext("Net growth in members"),
    "unions_founded": lazy_gettext("Unions founded"),
    "unions_dissolved": lazy_gettext("Unions dissolved"),
    "unions_rated_good_pct": lazy_gettext("Unions rated good or better"),
    "cla_coverage_pct": lazy_gettext("Workplaces with a collective agreement"),
    "womens_committee_pct": lazy_gettext("Unions with a women's committee"),
    "members_with_card_pct": lazy_gettext("Members holding a card"),
    "dues_collected_pct": lazy_gettext("Dues collected of what is due"),
    "officials_trained_pct": lazy_gettext("Union officials trained"),
    "workers_conference_pct": lazy_gettext("Workplaces that held a workers' conference"),
    # progress and verification
    "achieved": lazy_gettext("achieved"),
    "on_track": lazy_gettext("on track"),
    "behind": lazy_gettext("behind"),
    "consistent": lazy_gettext("consistent"),
    "discrepant": lazy_gettext("discrepant"),
    "match": lazy_gettext("match"),
    "corrected_later": lazy_gettext("corrected later"),
    "backfilled": lazy_gettext("backfilled"),
    "over_reported": lazy_gettext("over-reported"),
    "under_reported": lazy_gettext("under-reported"),
    # kinds and states
    "unit": lazy_gettext("Unit"),
    "workplace": lazy_gettext("Workplace"),
    "union": lazy_gettext("Union"),
    "member": lazy_gettext("Member"),
    "target": lazy_gettext("Target"),
    "report": lazy_gettext("Report"),
    "district": lazy_gettext("district"),
    "commune": lazy_gettext("commune"),
    "sector": lazy_gettext("sector"),
    "industrial_zone": lazy_gettext("industrial zone"),
    "other": lazy_gettext("other"),
    "active": lazy_gettext("active"),
    "left": lazy_gettext("left"),
    "closed": lazy_gettext("closed"),
    "dissolved": lazy_gettext("dissolved"),
    "current": lazy_gettext("current"),
    "replaced": lazy_gettext("replaced"),
    "female": lazy_gettext("female"),
    "male": lazy_gettext("male"),
}


def word(code: str | None) -> str:
    """A code of the register (an indicator, a status, a kind) in the user's language."""
    if code is None:
        return "—"
    base = code.partition("@")[0]
    return str(WORDS[base]) if base in WORDS else code


FIELDS = {
    "id": lazy_gettext("Code"),
    "name": lazy_gettext("Name"),
    "kind": lazy_gettext("Kind"),
    "status": lazy_gettext("Status"),
    "parent_id": lazy_gettext("Parent unit"),
    "established_on": lazy_gettext("Established on"),
    "closed_on": lazy_gettext("Closed on"),
    "successor_id": lazy_gettext("Successor unit"),
    "unit_id": lazy_gettext("Unit"),
    "workplace_id": lazy_gettext("Workplace"),
    "union_id": lazy_gettext("Union"),
    "admitted_union_id": lazy_gettext("Union at admission"),
    "founded_on": lazy_gettext("Founded on"),
    "dissolved_on": lazy_gettext("Dissolved on"),
    "admitted_on": lazy_gettext("Admitted on"),
    "left_on": lazy_gettext("Left on"),
    "leave_reason": lazy_gettext("Reason for leaving"),
    "full_name": lazy_gettext("Full name"),
    "gender": lazy_gettext("Gender"),
    "birth_date": lazy_gettext("Date of birth"),
    "id_number": lazy_gettext("ID number"),
    "personal_data_erased": lazy_gettext("Personal data erased"),
    "sector": lazy_gettext("Sector"),
    "workers": lazy_gettext("Workers"),
    "female_workers": lazy_gettext("Female workers"),
    "period": lazy_gettext("Period"),
    "indicator": lazy_gettext("Indicator"),
    "value": lazy_gettext("Value"),
    "as_of": lazy_gettext("As of"),
    "version": lazy_gettext("Events"),
    "recorded_at": lazy_gettext("First recorded at"),
    "updated_at": lazy_gettext("Last changed at"),
    "submitted_at": lazy_gettext("Submitted at"),
    "submitted_by": lazy_gettext("Submitted by"),
    "member_id": lazy_gettext("Member"),
    "workplaces": lazy_gettext("Workplaces"),
    "unions": lazy_gettext("Grassroots unions"),
    "members": lazy_gettext("Members"),
    "to_union_id": lazy_gettext("To union"),
    "from_union_id": lazy_gettext("From union"),
    "to_unit_id": lazy_gettext("To unit"),
    "effective_on": lazy_gettext("Effective on"),
    "reason": lazy_gettext("Reason"),
}
WORDS.update(
    {
        "resigned": lazy_gettext("resigned"),
        "changed_job": lazy_gettext("changed job"),
        "retired": lazy_gettext("retired"),
        "deceased": lazy_gettext("deceased"),
        "expelled": lazy_gettext("expelled"),
        "federation_admin": lazy_gettext("federation administrator"),
        "officer": lazy_gettext("officer"),
        "clerk": lazy_gettext("clerk"),
        "inspector": lazy_gettext("inspector"),
        "auditor": lazy_gettext("auditor"),
        "viewer": lazy_gettext("viewer"),
        "state_agency": lazy_gettext("state agency"),
        "public_service": lazy_gettext("public service unit"),
        "state_enterprise": lazy_gettext("state enterprise"),
        "private_enterprise": lazy_gettext("private enterprise"),
        "fdi_enterprise": lazy_gettext("foreign-invested enterprise"),
        "cooperative": lazy_gettext("cooperative"),
    }
)


def label(key: str) -> str:
    """The name of an entity's field in the user's language (the field's own name where there is none)."""
    return str(FIELDS[key]) if key in FIELDS else key


WORDS.update(
    {
        "MemberAdmitted": lazy_gettext("Admission"),
        "MemberDataErased": lazy_gettext("Personal data erased"),
        "MemberLeft": lazy_gettext("Left"),
        "MemberTransferred": lazy_gettext("Transferred"),
        "MemberTransferredIn": lazy_gettext("Moved in from another province"),
        "MemberTransferredOut": lazy_gettext("Moved to another province"),
        "MemberTransferProposed": lazy_gettext("Move to another province proposed"),
        "MemberTransferRefused": lazy_gettext("Move to another province refused"),
        "MemberTransferWithdrawn": lazy_gettext("Move to another province withdrawn"),
        "transferred_out": lazy_gettext("moved to another province"),
        "ReportReplaced": lazy_gettext("Report replaced"),
        "ReportSubmitted": lazy_gettext("Report submitted"),
        "ReportVerified": lazy_gettext("Report verified"),
        "TargetAssigned": lazy_gettext("Target assigned"),
        "TargetRevised": lazy_gettext("Target revised"),
        "UnionDissolved": lazy_gettext("Union dissolved"),
        "UnionFounded": lazy_gettext("Union founded"),
        "UnionTransferred": lazy_gettext("Union transferred"),
        "UnitClosed": lazy_gettext("Unit closed"),
        "UnitEstablished": lazy_gettext("Unit established"),
        "WorkforceSurveyed": lazy_gettext("Workforce surveyed"),
        "WorkplaceRegistered": lazy_gettext("Workplace registered"),
    }
)

WORDS.update({"members_female": lazy_gettext("Female members")})  # the entity pages' figures as they stood

MESSAGES.update(  # a password's rule, as the API words it (POST /users, POST /users/{username}/password)
    {
        f"must be {MIN_LENGTH} to {MAX_LENGTH} characters long; a passphrase will do": lazy_gettext(
            "At least 10 characters; a sentence you remember will do."
        )
    }
)

FIELDS.update(  # a union's fields the entity pages show
    {
        "decision_no": lazy_gettext("Decision number"),
        "dissolution_reason": lazy_gettext("Reason for dissolution"),
        "active_members": lazy_gettext("Active members"),
    }
)

# The plans' other records: their refusals, words, fields and events.
MESSAGES.update(
    {
        "must be a year such as 2025": lazy_gettext("Must be a year such as 2025."),
        "must be a whole number of VND": lazy_gettext("Must be a whole number of VND."),
        "must lie between 0 and 1000000000000000": lazy_gettext("Must be 0 or more VND."),
        "Must be one of: excellent, good, fair, poor.": lazy_gettext("Choose a rating."),
        "a rating cannot be decided before its year begins": lazy_gettext(
            "A rating cannot be decided before its year begins."
        ),
        "must be 1-32 letters, digits and ./- starting with a letter or digit": lazy_gettext(
            "Must be 1 to 32 letters, digits and . / - starting with a letter or digit."
        ),
        "must be a period: 2024, 2024-H1, 2024-Q3, 2024-05 or a term such as 2023-2028": lazy_gettext(
            "Must be a period: 2024, 2024-H1, 2024-Q3, 2024-05 or a term such as 2023-2028."
        ),
    }
)
RULES.update(
    {
        "rated_before_founding": lazy_gettext("The union had not been founded in this year."),
        "agreement_expiry": lazy_gettext("An agreement cannot expire before it is signed."),
        "trained_exceeds_officials": lazy_gettext("No more officials can be trained than there are."),
        "womens_committee_exists": lazy_gettext("The union has a women's committee already."),
        "card_no_taken": lazy_gettext("Another member holds this card number."),
        "member_active": lazy_gettext("The member is not active on this date."),
    }
)
WORDS.update(
    {
        "excellent": lazy_gettext("excellent"),
        "good": lazy_gettext("good"),
        "fair": lazy_gettext("fair"),
        "poor": lazy_gettext("poor"),
        "UnionRated": lazy_gettext("Union rated"),
        "WomensCommitteeFounded": lazy_gettext("Women's committee founded"),
        "DuesRecorded": lazy_gettext("Dues recorded"),
        "OfficialsTrainingRecorded": lazy_gettext("Officials' training recorded"),
        "CollectiveAgreementSigned": lazy_gettext("Collective agreement signed"),
        "WorkersConferenceHeld": lazy_gettext("Workers' conference held"),
        "MemberCardIssued": lazy_gettext("Member card issued"),
        "CardNumberAssigned": lazy_gettext("Card number assigned"),
    }
)
FIELDS.update(
    {
        "year": lazy_gettext("Year"),
        "rating": lazy_gettext("Rating"),
        "decided_on": lazy_gettext("Decided on"),
        "due": lazy_gettext("Dues due (VND)"),
        "collected": lazy_gettext("Dues collected (VND)"),
        "recorded_on": lazy_gettext("Recorded on"),
        "officials": lazy_gettext("Union officials"),
        "trained": lazy_gettext("Officials trained"),
        "signed_on": lazy_gettext("Signed on"),
        "expires_on": lazy_gettext("Expires on"),
        "held_on": lazy_gettext("Held on"),
        "card_no": lazy_gettext("Card number"),
        "issued_on": lazy_gettext("Issued on"),
        # the import's sheets of them
        "ratings": lazy_gettext("Ratings"),
        "womens_committees": lazy_gettext("Women's committees"),
        "dues": lazy_gettext("Dues"),
        "training": lazy_gettext("Officials' training"),
        "agreements": lazy_gettext("Collective agreements"),
        "conferences": lazy_gettext("Workers' conferences"),
        "cards": lazy_gettext("Member cards"),
    }
)
