from django.dispatch import Signal

# Sent inside the transaction that issues an invoice or credit note, after it is numbered and
# marked issued. Arguments: `invoice`. A listener's writes commit or roll back with the issue itself
# (add-ons keep their outbox rows this way); a listener that raises makes the issue fail.
document_issuing = Signal()

# Sent once an invoice or credit note has been issued and the transaction that issued it has
# committed. Arguments: `invoice` (the issued Invoice). Add-ons listen to it; billing knows none of them.
document_issued = Signal()
