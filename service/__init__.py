"""The HTTP skin: app factory, blueprints, schemas, the command line."""
