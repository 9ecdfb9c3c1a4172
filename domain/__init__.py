"""Pure domain: aggregates, their events, value objects and the routing rules."""
