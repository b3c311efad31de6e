"""From Xero back to the platform: the signed webhook receiver and its inbox, applying states, and the
reconciliation that catches what webhooks missed."""
