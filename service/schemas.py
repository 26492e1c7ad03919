"""Fields and schemas shared by several resources: text, ids, errors, history and audit entries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, missing, validate

from domain.base import ID_PATTERN
from domain.errors import InvalidValue
from domain.indicators import MAX_COUNT, TOO_LARGE
from domain.periods import parse_period
from domain.text import text_fault


class Text(fields.String):
    """A string the register can hold (domain/text.py): one line, or with ``free=True`` lines of
    free text. Checked before any validator, so that a refusal names this rule alone."""

    def __init__(self, *, free: bool = False, **kw):
        super().__init__(**kw)
        self.free = free

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        fault = text_fault(text, free=self.free)
        if fault is not None:
            raise ValidationError(fault)
        return text


FreeText = lambda **kw: Text(free=True, **kw)  # noqa: E731 - a reason: may hold tabs and line breaks
ClientId = lambda **kw: Text(  # noqa: E731 - a field factory reads best as one line
    validate=validate.Regexp(ID_PATTERN, error="must be 1-64 characters of letters, digits and ._:-"), **kw
)
Name = lambda **kw: Text(validate=validate.Length(min=1, max=300), **kw)  # noqa: E731
Count = lambda **kw: fields.Integer(  # noqa: E731
    strict=True,
    validate=validate.Range(min=0, max=10_000_000, error="must lie between {min} and {max}"),
    error_messages={"invalid": "a count must be a whole number"},
    **kw,
)
Instant = lambda **kw: fields.AwareDateTime(  # noqa: E731
    format="iso",
    error_messages={
        "invalid": "must be an ISO 8601 instant with an offset, e.g. 2025-01-01T00:00:00+07:00",
        "invalid_awareness": "must carry its offset (Z or +07:00), e.g. 2025-01-01T00:00:00+07:00",
    },
    **kw,
)
Position = lambda **kw: fields.Integer(  # noqa: E731 - a query string's digits, so not strict
    validate=validate.Range(min=0, max=2**63 - 1, error="must lie between {min} and {max}"),
    error_messages={"invalid": "must be a whole number"},
    **kw,
)


def period_code(value: str) -> None:
    """A period filter must be a period, or it would quietly match nothing."""
    try:
        parse_period(value)
    except InvalidValue as refused:
        raise ValidationError(refused.message) from None


PeriodFilter = lambda **kw: Text(  # noqa: E731
    load_default=None,
    validate=period_code,
    metadata={"description": "2024, 2024-H1, 2024-Q3, 2024-05 or 2023-2028"},
    **kw,
)


Amount = lambda **kw: fields.Integer(  # noqa: E731 - whole VND
    strict=True,
    validate=validate.Range(min=0, max=10**15, error="must lie between {min} and {max}"),
    error_messages={"invalid": "must be a whole number of VND"},
    **kw,
)
Year = lambda **kw: fields.Integer(  # noqa: E731
    strict=True,
    validate=validate.Range(min=1900, max=9999, error="must be a year such as 2025"),
    error_messages={"invalid": "must be a year such as 2025"},
    **kw,
)


class Number(fields.Float):
    """A finite JSON number: a string or a boolean is not one. How large a figure may be is the
    domain's rule; an integer past it is refused here, before float() rounds it or fails on it."""

    default_error_messages = {"invalid": "must be a number", "too_large": TOO_LARGE}

    def __init__(self, **kw):
        super().__init__(allow_nan=False, **kw)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        if isinstance(value, int) and abs(value) > MAX_COUNT:
            raise self.make_error("too_large")
        return super()._deserialize(value, attr, data, **kwargs)


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error is answered."""

    type = fields.String(metadata={"description": "always about:blank: the status says what kind of error"})
    status = fields.Integer(metadata={"description": "The HTTP status"})
    title = fields.String(metadata={"description": "The kind of error, e.g. 'Invalid field'"})
    detail = fields.String(metadata={"description": "What was wrong with this request"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "422: field -> messages naming the rule each broke"},
    )
    rule = fields.String(metadata={"description": "409: the business rule that refused the command"})
    rows = fields.List(
        fields.Dict(),
        metadata={
            "description": "422 of an import: its first bad rows in file order, each"
            " {sheet, line, column, rule, message}"
        },
    )
    rows_total = fields.Integer(metadata={"description": "422 of an import: how many rows are wrong"})
    max_bytes = fields.Integer(metadata={"description": "413: the most bytes this call's request may carry"})


class EntrySchema(Schema):
    """One recorded event: where it stands in the ledger, who recorded it, when, and what it says."""

    position = fields.Integer()
    recorded_at = fields.DateTime()
    actor = fields.String()
    event = fields.String()
    entity_type = fields.String()
    entity_id = fields.String()
    business_date = fields.Date(allow_none=True)
    version = fields.Integer()
    data = fields.Dict()


class HistorySchema(Schema):
    entity_type = fields.String()
    entity_id = fields.String()
    events = fields.List(fields.Nested(EntrySchema))


# How QuickDump writes a field's value, by the field's exact class: the value's exact type and what
# marshmallow's own serialization gives for it (the same result, without its per-field calls)
_QUICK_KINDS: dict[type, tuple[type, Any]] = {
    fields.String: (str, None),
    Text: (str, None),
    fields.Integer: (int, None),
    fields.Boolean: (bool, None),
    fields.Date: (dt.date, dt.date.isoformat),
    fields.DateTime: (dt.datetime, dt.datetime.isoformat),
}


class QuickDump(Schema):
    """A schema whose dump of one dict of plain values (str, int, bool, date, datetime or None, in
    the fields the schema declares) skips marshmallow's per-field machinery, several times dearer
    on every entity's answer; any other object, or a schema with another kind of field, goes
    through marshmallow. The answer is the same either way (tests/api/test_quick_schemas.py)."""

    _quick_plan: Any = None  # per schema class: ((name, type, write), ...), or () if it cannot be used

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        plan = self._plan()
        if not plan or many or self.many or type(obj) is not dict:
            return super().dump(obj, many=many)
        out: dict[str, Any] = {}
        for name, kind, write in plan:
            if name not in obj:
                continue
            value = obj[name]
            if value is None:
                out[name] = None
            elif type(value) is kind:
                out[name] = value if write is None else write(value)
            else:
                return super().dump(obj, many=many)
        return out

    def _plan(self) -> tuple:
        if self.only is not None or self.exclude:
            return ()
        cls = type(self)
        plan = cls.__dict__.get("_quick_plan")
        if plan is None:
            plan = cls._quick_plan = self._make_plan()
        return plan

    def _make_plan(self) -> tuple:
        if self._hooks.get("post_dump") or self._hooks.get("pre_dump"):
            return ()
        plan = []
        for name, field in self.dump_fields.items():
            kind = _QUICK_KINDS.get(type(field))
            plain = (
                getattr(field, "format", None) in (None, "iso", "iso8601")
                and not getattr(field, "as_string", False)
                and field.dump_default is missing
                and field.attribute in (None, name)
                and field.data_key in (None, name)
            )
            if kind is None or not plain:
                return ()
            plan.append((name, *kind))
        return tuple(plan)


class EntityMeta(QuickDump):
    version = fields.Integer(metadata={"description": "How many events the entity has"})
    recorded_at = fields.DateTime(metadata={"description": "When the entity was first recorded"})
    updated_at = fields.DateTime(metadata={"description": "When its latest event was recorded"})


FormatField = lambda **kw: Text(  # noqa: E731 - a field factory reads best as one line
    load_default=None,
    validate=validate.OneOf(["json", "csv", "xlsx"], error="must be one of: json, csv, xlsx"),
    metadata={
        "description": "`csv` or `xlsx`: a file of every page (default: the `Accept` type, else JSON); its"
        " columns are the JSON fields' codes, an XLSX has a second header row in Vietnamese"
    },
    **kw,
)


class PageQuery(Schema):
    """What every list takes: the date it is about, and which page."""

    as_of = fields.Date(load_default=None, metadata={"description": "The date the list is about; default today"})
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=1000, error="must lie between {min} and {max}"),
        metadata={"description": "Items per page, 1-1000"},
    )
    after = Text(load_default=None, metadata={"description": "The `next` cursor of the page before"})
    format = FormatField()


def page_schema(kind: str, item: type[Schema]) -> type[Schema]:
    """A page of a list: ``{kind: [...], "next": cursor or null}``."""
    return Schema.from_dict(
        {
            kind: fields.List(fields.Nested(item)),
            "next": fields.String(
                allow_none=True, metadata={"description": "Pass as `after` for the next page; null on the last"}
            ),
        },
        name=f"{kind.capitalize()}Page",
    )
