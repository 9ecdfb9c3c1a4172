"""Request and response bodies of the HTTP API, by area, with their examples.

Field names are the client's (`from`, not `from_`). Values are checked for shape
here (`fields.py`); what they mean (a valid phone, an existing user) is checked by
the ledger.
"""
