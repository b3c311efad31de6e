"""The set-up check (what Xero would refuse, before the first document goes) and the code advice on the
rate and tax rate forms."""
