"""The rules for what comes back from Xero, on the in-memory Xero (api/fake.py): a change Xero announces
is read back in bulk and applied to the platform's document; events for other organisations or for
documents the platform did not send are ignored with the reason; an older state never overwrites a
newer one. The same flows over HTTP, with real deliveries from the sandbox, are in test_reconcile.py."""

import dataclasses
import datetime
from decimal import Decimal

from django.utils import timezone

from billing.models import Invoice
from integrations.xero.conftest import issued, state_of
from integrations.xero.inbound import inbox
from integrations.xero.models import SyncRecord, WebhookEvent
from integrations.xero.outbound import sending
from integrations.xero.tests.factories import WebhookEventFactory


def sent(fake_xero, codes, count=1) -> list[Invoice]:
    documents = [issued(codes) for _ in range(count)]
    sending.sync_round_push()
    return documents


def announce(fake_xero, invoice, **fields) -> WebhookEvent:
    record = state_of(invoice)
    return WebhookEventFactory(tenant_id=fake_xero.connection.tenant_id, resource_id=record.xero_id, **fields)


def test_a_payment_in_xero_marks_the_invoice_paid_with_one_read_for_many_events(fake_xero, codes):
    invoices = sent(fake_xero, codes, count=3)
    for invoice in invoices:
        fake_xero.org.pay(str(state_of(invoice).xero_id))
        announce(fake_xero, invoice)
    fake_xero.org.calls.clear()
    round_ = inbox.webhook_events_process()
    assert (round_.claimed, round_.applied) == (3, 3)
    assert [Invoice.objects.get(pk=i.pk).status for i in invoices] == [Invoice.Status.PAID] * 3
    assert fake_xero.org.calls == ["read_states"]
    assert state_of(invoices[0]).status_source == SyncRecord.StatusSource.WEBHOOK


def test_a_part_payment_keeps_the_invoice_issued_and_records_what_is_due(fake_xero, codes):
    (invoice,) = sent(fake_xero, codes)
    fake_xero.org.pay(str(state_of(invoice).xero_id), Decimal("100.00"))
    announce(fake_xero, invoice)
    inbox.webhook_events_process()
    record, document = state_of(invoice), Invoice.objects.get(pk=invoice.pk)
    assert (document.status, document.amount_paid, document.amount_due) == (
        Invoice.Status.ISSUED,
        Decimal("100.00"),
        Decimal("187.50"),
    )
    assert (record.amount_paid, record.amount_due) == (Decimal("100.00"), Decimal("187.50"))


def test_events_of_another_organisation_or_of_documents_not_sent_by_the_platform_are_ignored_with_why(fake_xero, codes):
    other_org = WebhookEventFactory()
    not_ours = WebhookEventFactory(tenant_id=fake_xero.connection.tenant_id)
    round_ = inbox.webhook_events_process()
    assert round_.ignored == 2 and "read_states" not in fake_xero.org.calls
    assert WebhookEvent.objects.get(pk=other_org.pk).outcome == inbox.NOT_LINKED
    assert WebhookEvent.objects.get(pk=not_ours.pk).outcome == inbox.NOT_OURS


def test_a_state_older_than_the_one_applied_changes_nothing(fake_xero, codes):
    (invoice,) = sent(fake_xero, codes)
    document = fake_xero.org.documents[str(state_of(invoice).xero_id)]
    fake_xero.org.pay(document.xero_id)
    paid = document.state()
    inbox.document_state_apply(record_id=state_of(invoice).pk, state=paid, source="webhook")
    older = dataclasses.replace(
        paid,
        status="AUTHORISED",
        amount_paid=Decimal("0.00"),
        updated_at=paid.updated_at - datetime.timedelta(seconds=5),
    )
    applied = inbox.document_state_apply(record_id=state_of(invoice).pk, state=older, source="webhook")
    assert applied.note == inbox.UP_TO_DATE and not applied.changed
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID


def test_a_voided_invoice_in_xero_is_voided_in_the_platform_and_shows_nothing_due(fake_xero, codes, client):
    from django.contrib.auth import get_user_model

    (invoice,) = sent(fake_xero, codes)
    document = fake_xero.org.documents[str(state_of(invoice).xero_id)]
    document.status = "VOIDED"
    announce(fake_xero, invoice)
    inbox.webhook_events_process()
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.VOIDED
    client.force_login(get_user_model().objects.create_superuser("finance", password="pw"))
    page = client.get(invoice.get_absolute_url()).content.decode()
    assert "Voided in Xero: nothing is due on it." in page and "due 287.50" not in page


def test_events_a_killed_worker_held_are_applied_by_the_periodic_run_once_its_claim_lapses(fake_xero, codes):
    from integrations.xero.inbound import reconciliation

    (invoice,) = sent(fake_xero, codes)
    fake_xero.org.pay(str(state_of(invoice).xero_id))
    lapsed = timezone.now() - datetime.timedelta(seconds=1)
    announce(fake_xero, invoice, state=WebhookEvent.State.PROCESSING, claimed_until=lapsed, claim_token="dead")
    assert inbox.webhook_events_waiting()
    reconciliation.reconciliation_run_periodic()
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
    assert WebhookEvent.objects.get().state == WebhookEvent.State.APPLIED
