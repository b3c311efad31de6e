"""Contacts: GET (where, IDs, includeArchived, paging), PUT/POST in batches."""

ROUTES: dict = {}
