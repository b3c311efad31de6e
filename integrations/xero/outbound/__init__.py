"""From issued document to Xero: the outbox row, claiming, contacts, mapping, sending, allocations and
the sync exceptions a person resolves."""
