"""The register's domain model: aggregates, events, rules. No storage, no HTTP."""
