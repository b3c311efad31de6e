from django.dispatch import Signal

# Sent once an invoice or credit note has been issued and the transaction that issued it has
# committed. Arguments: `invoice` (the issued Invoice). Add-ons listen to it; billing knows none of them.
document_issued = Signal()
