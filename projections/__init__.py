"""Read models folded from the ledger: the views routing queries."""
