"""The ledger application: one verb per use case, over the event store."""
