"""The service with the Merkle tree left out of commands: bench.proofs's baseline for what keeping it costs.

Served by gunicorn exactly as service.wsgi; the leaves it records are added to the tree by the
next chain extension (a checkpoint), which bench.proofs asks for before each timed turn.
"""

from __future__ import annotations

from integrity.tree import Tree

Tree.link = lambda self, *args, **kwargs: None  # type: ignore[method-assign]

from service.wsgi import app  # noqa: E402 - after the tree is left out

__all__ = ["app"]
