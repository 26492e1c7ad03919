"""Read models built from the ledger's events only; every view can be rebuilt from the ledger."""
