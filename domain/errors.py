"""Exceptions the domain raises; the service maps each kind to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal the domain can give."""

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule


class NotFound(DomainError):
    """An entity named by the request does not exist (404)."""


class Conflict(DomainError):
    """A business rule refused the command (409); nothing was written."""


class AlreadyExists(Conflict):
    """An entity with this id exists already (409)."""


class InvalidValue(DomainError):
    """A value is well-formed but not acceptable, e.g. a future date (422)."""
