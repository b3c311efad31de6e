import threading
import time

import pytest
from django.db import connection
from django.db.models.signals import pre_save

from billing import services
from billing.models import DocumentSequence, Invoice

from .factories import draft_with_lines

ISSUERS = 6


@pytest.fixture
def slow_issue():
    """Hold each issuing transaction open a moment after its number is taken, so that issues
    running at once really overlap (without the sequence lock they would read the same number)."""

    def pause(sender, instance, **kwargs):
        if instance.status == Invoice.Status.ISSUED:
            time.sleep(0.05)

    pre_save.connect(pause, sender=Invoice)
    yield
    pre_save.disconnect(pause, sender=Invoice)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_documents_issued_at_the_same_time_get_distinct_consecutive_numbers(slow_issue):
    DocumentSequence.objects.create(kind=Invoice.Kind.INVOICE)
    drafts = [draft_with_lines() for _ in range(ISSUERS)]
    start = threading.Barrier(ISSUERS)
    numbers, errors = [], []

    def issue(pk):
        try:
            start.wait()
            numbers.append(services.invoice_issue(invoice=Invoice.objects.get(pk=pk)).number)
        except Exception as error:  # collected and asserted below, in the test's own thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(draft.pk,)) for draft in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(numbers) == [f"INV-{n:06d}" for n in range(1, ISSUERS + 1)]
    assert DocumentSequence.objects.get(kind=Invoice.Kind.INVOICE).last_number == ISSUERS
