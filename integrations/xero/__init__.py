"""The Xero add-on: link, client, mapping, sync and webhooks (built in later issues).

`billing` knows nothing of this package; this package listens to billing's signals.
"""
