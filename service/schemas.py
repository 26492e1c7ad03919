"""Schemas shared by several resources: ids, errors, history and audit entries."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from domain.base import ID_PATTERN

ClientId = lambda **kw: fields.String(  # noqa: E731 - a field factory reads best as one line
    validate=validate.Regexp(ID_PATTERN, error="must be 1-64 characters of letters, digits and ._:-"), **kw)
Name = lambda **kw: fields.String(validate=validate.Length(min=1, max=300), **kw)  # noqa: E731


class ProblemSchema(Schema):
    type = fields.String()
    status = fields.Integer()
    title = fields.String()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    rule = fields.String()


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


class EntityMeta(Schema):
    version = fields.Integer(metadata={"description": "How many events the entity has"})
    recorded_at = fields.DateTime(metadata={"description": "When the entity was first recorded"})
    updated_at = fields.DateTime(metadata={"description": "When its latest event was recorded"})
