"""`make bench`: the Xero sync measured end to end against the sandbox (see bench/README.md)."""
