"""The Xero add-on, in packages by flow: `api` (the only code that talks to Xero), `link`, `outbound`,
`inbound` and `setup`; models, tasks, admin and urls at the top compose them.

`billing` knows nothing of this package; this package listens to billing's signals.
"""
