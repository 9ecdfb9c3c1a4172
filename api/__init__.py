"""The HTTP API: settings, wiring, routes, schemas and error mapping."""
