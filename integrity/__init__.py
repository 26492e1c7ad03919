"""Integrity of the ledger: the hash chain, exports, and the offline audit of an export."""
