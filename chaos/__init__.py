"""`make chaos`: the sync and the statuses back from Xero under injected faults and load (see chaos/run.py)."""
