"""Storage adapters: how events, personal data and files are kept (mapper, recorders, pools, vault)."""
