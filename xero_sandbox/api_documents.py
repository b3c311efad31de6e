"""Invoices and credit notes, their allocations, and payments."""

ROUTES: dict = {}
