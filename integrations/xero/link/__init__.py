"""Linking the platform to a Xero organisation: consent, tokens and their encryption, the Add Ons card."""
