"""Statuses back from Xero, end to end against the sandbox: its pages change a document, its webhook
sender posts to the live server's receiver, and the processing (or the reconciliation) applies it."""

import datetime
import uuid
from decimal import Decimal

import pytest
import urllib3
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import BillingAccount, Invoice
from billing.tests.factories import BillingAccountFactory, RateFactory, TaxRateFactory, draft_with_lines, line
from integrations.xero.api import values
from integrations.xero.conftest import link
from integrations.xero.inbound import inbox, reconciliation
from integrations.xero.models import Reconciliation, SyncRecord, WebhookEvent, XeroConnection
from integrations.xero.outbound import sending
from xero_sandbox import books
from xero_sandbox import webhooks as sandbox_webhooks
from xero_sandbox.models import App, Document, Organisation, RequestLog, WebhookDelivery
from xero_sandbox.seeding import seed_demo_documents

RECEIVER = "/integrations/xero/webhooks/"
Status = Invoice.Status


@pytest.fixture
def linked(sandbox, admin_client, live_server, settings) -> XeroConnection:
    """Linked to the NZ organisation; the sandbox's webhooks go to the live server's receiver."""
    link(admin_client, sandbox["NZ"])
    App.objects.filter(client_id=settings.XERO_CLIENT_ID).update(webhook_url=f"{live_server.url}{RECEIVER}")
    return XeroConnection.objects.get()


@pytest.fixture
def codes(db):
    return {
        "rate": RateFactory(label="Sea freight", revenue_account_code="SEA|200"),
        "tax": TaxRateFactory(name="GST", rate=Decimal("15"), accounting_code="OUTPUT2"),
    }


@pytest.fixture
def xero_staff() -> Client:
    """Someone playing Xero on the sandbox's pages."""
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("xero-person", password="pw"))
    return staff


def sent(codes, count=1, *, kind=Invoice.Kind.INVOICE) -> list[Invoice]:
    account = BillingAccount.objects.filter(code="ACME01").first() or BillingAccountFactory(code="ACME01")
    invoices = [
        services.invoice_issue(
            invoice=draft_with_lines(
                line(rate=codes["rate"], tax_rate=codes["tax"], unit_price="100.00", quantity="2.5"),
                billing_account=account,
                kind=kind,
            )
        )
        for _ in range(count)
    ]
    while sending.sync_round_push():
        pass
    assert SyncRecord.objects.filter(invoice__in=invoices, state="sent").count() == count
    return invoices


def in_xero(invoice: Invoice) -> Document:
    return Document.objects.get(document_id=SyncRecord.objects.get(invoice=invoice).xero_id)


def act(staff: Client, name: str, invoice: Invoice, **data) -> None:
    """Press a button on the sandbox's page of the document; it must succeed."""
    document = in_xero(invoice)
    kwargs = data.pop("kwargs", {})
    url = reverse(f"xero_sandbox:{name}", kwargs={"org_pk": document.organisation_id, "pk": document.pk, **kwargs})
    answer = staff.post(url, data, follow=True)
    assert answer.status_code == 200
    assert "error" not in [m.level_tag for m in answer.context["messages"]], [
        str(m) for m in answer.context["messages"]
    ]


def deliver() -> list[WebhookDelivery]:
    return sandbox_webhooks.deliver_due()


def delivered_and_processed() -> inbox.Round:
    assert all(d.last_status_code == 200 for d in deliver())
    return inbox.webhook_events_process()


def reloaded(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def record_of(invoice: Invoice) -> SyncRecord:
    return SyncRecord.objects.get(invoice=invoice)


def xero_reads() -> int:
    """Calls that read invoices or credit notes, from the sandbox's request log."""
    return RequestLog.objects.filter(method="GET").exclude(path__icontains="Contacts").count()


# --- Webhooks, end to end -----------------------------------------------------------------------


def test_a_payment_recorded_in_xero_makes_the_invoice_paid_by_webhook(linked, codes, xero_staff):
    (invoice,) = sent(codes)
    act(xero_staff, "document_pay_full", invoice)
    result = delivered_and_processed()
    assert (result.applied, result.changed) == (1, 1)
    assert reloaded(invoice).status == Status.PAID
    record = record_of(invoice)
    assert (record.status_source, record.xero_status, record.amount_paid, record.amount_due) == (
        "webhook",
        "PAID",
        Decimal("287.50"),
        Decimal("0.00"),
    )
    page = xero_staff.get(invoice.get_absolute_url()).content.decode()
    assert "Paid: learned from Xero&#x27;s webhook" in page
    assert "Paid 287.50, due 0.00" in page


def test_an_invoice_paid_then_its_payment_deleted_goes_back_to_issued(linked, codes, xero_staff):
    (invoice,) = sent(codes)
    act(xero_staff, "document_pay_full", invoice)
    delivered_and_processed()
    assert reloaded(invoice).status == Status.PAID
    payment = in_xero(invoice).payments.get()
    act(xero_staff, "payment_delete", invoice, kwargs={"payment_pk": payment.pk})
    delivered_and_processed()
    assert reloaded(invoice).status == Status.ISSUED
    assert (record_of(invoice).amount_paid, record_of(invoice).amount_due) == (Decimal("0.00"), Decimal("287.50"))


def test_a_part_payment_is_recorded_without_changing_the_status(linked, codes, xero_staff):
    (invoice,) = sent(codes)
    act(xero_staff, "document_pay_part", invoice, amount="100.00")
    delivered_and_processed()
    assert (reloaded(invoice).status, reloaded(invoice).amount_paid) == (Status.ISSUED, Decimal("100.00"))
    record = record_of(invoice)
    assert (record.amount_paid, record.amount_due, record.status_source) == (Decimal("100.00"), Decimal("187.50"), "")


def test_void_and_delete_on_the_sandbox_pages_reach_the_platform_through_a_real_delivery(linked, codes, xero_staff):
    voided, deleted = sent(codes, 2)
    (credit_note,) = sent(codes, kind=Invoice.Kind.CREDIT_NOTE)
    act(xero_staff, "document_void", voided)
    act(xero_staff, "document_void", credit_note)
    # Xero deletes only drafts and submitted documents, and the platform sends them approved: this one is
    # put back to submitted, as if it had been sent that way, so that the page's Delete button works.
    Document.objects.filter(pk=in_xero(deleted).pk).update(status="SUBMITTED")
    act(xero_staff, "document_delete", deleted)
    RequestLog.objects.all().delete()
    result = delivered_and_processed()
    assert [reloaded(d).status for d in (voided, deleted, credit_note)] == [
        Status.VOIDED,
        Status.DELETED,
        Status.VOIDED,
    ]
    assert result.changed == 3
    assert xero_reads() == 2  # one read for the invoices, one for the credit note


def test_replayed_and_out_of_order_deliveries_never_move_a_document_back(linked, codes, xero_staff, settings):
    (invoice,) = sent(codes)
    deliver()  # the creation events, out of the way
    act(xero_staff, "document_pay_full", invoice)
    act(xero_staff, "payment_delete", invoice, kwargs={"payment_pk": in_xero(invoice).payments.get().pk})
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "WEBHOOK_BATCH_SIZE": 1, "WEBHOOK_REORDER": True}
    deliveries = deliver()
    assert [d.last_status_code for d in deliveries] == [200, 200]  # newest first: payment deleted, then paid
    inbox.webhook_events_process()
    assert reloaded(invoice).status == Status.ISSUED
    for delivery in deliveries:  # Xero sends them again
        answer = urllib3.request(
            "POST",
            linked_url(),
            body=delivery.body,
            headers={"x-xero-signature": delivery.signature, "Content-Type": "application/json"},
        )
        assert answer.status == 200
    assert not WebhookEvent.objects.filter(state="pending").exists()  # the replays were known events
    inbox.webhook_events_process()
    assert reloaded(invoice).status == Status.ISSUED


def linked_url() -> str:
    return App.objects.get().webhook_url


def test_an_older_read_arriving_late_changes_nothing(linked, codes, xero_staff):
    (invoice,) = sent(codes)
    act(xero_staff, "document_pay_full", invoice)
    delivered_and_processed()
    record = record_of(invoice)
    older = values.DocumentState(
        xero_id=str(record.xero_id),
        status="AUTHORISED",
        amount_paid=Decimal("0"),
        amount_due=Decimal("287.50"),
        updated_at=record.xero_updated_at - datetime.timedelta(seconds=1),
    )
    applied = inbox.document_state_apply(record_id=record.pk, state=older, source="webhook")
    assert not applied.changed
    assert reloaded(invoice).status == Status.PAID
    assert record_of(invoice).amount_paid == Decimal("287.50")


def test_events_for_documents_the_platform_did_not_send_are_ignored_and_counted(linked, codes):
    org = Organisation.objects.get(tenant_id=linked.tenant_id)
    seed_demo_documents(org)  # invoices typed into Xero by hand
    books.document_pay(document=org.documents.get(number="INV-0001"), amount=Decimal("287.50"))
    RequestLog.objects.all().delete()
    result = delivered_and_processed()
    assert (result.applied, result.ignored) == (0, 1)
    assert WebhookEvent.objects.get(state="ignored", event_type="UPDATE").outcome == inbox.NOT_OURS
    assert xero_reads() == 0
    assert inbox.receiver_health()["ignored"] >= 1


def test_events_of_an_organisation_that_is_not_linked_are_ignored(linked, client):
    from integrations.xero.inbound.tests.test_webhooks import event, payload, post

    post(client, payload(event(tenant_id=str(uuid.uuid4()))))
    result = inbox.webhook_events_process()
    assert result.ignored == 1
    assert WebhookEvent.objects.get().outcome == inbox.NOT_LINKED


def test_events_wait_while_the_link_needs_re_linking(linked, codes, xero_staff):
    (invoice,) = sent(codes)
    act(xero_staff, "document_pay_full", invoice)
    XeroConnection.objects.update(status=XeroConnection.Status.NEEDS_RELINK)
    result = delivered_and_processed()
    assert result.interrupted
    assert WebhookEvent.objects.filter(state="pending", event_type="UPDATE").count() == 1
    XeroConnection.objects.update(status=XeroConnection.Status.ACTIVE)
    inbox.webhook_events_process()
    assert reloaded(invoice).status == Status.PAID


def test_a_hundred_events_cost_at_most_three_calls_to_xero(linked, codes):
    # 100 invoice ids in `IDs=` take about 3,900 URL-encoded characters (36 and a "%2C" each): three
    # requests within the 1,800-character budget (Xero's edge refuses past about 2,050).
    invoices = sent(codes, 100)
    deliver()  # the creation events
    for invoice in invoices:
        books.document_pay(document=in_xero(invoice), amount=Decimal("287.50"))
    RequestLog.objects.all().delete()
    result = delivered_and_processed()
    assert (result.applied, result.changed) == (100, 100)
    assert xero_reads() <= 3
    assert Invoice.objects.filter(pk__in=[i.pk for i in invoices], status=Status.PAID).count() == 100


# --- Reconciliation ------------------------------------------------------------------------------


def test_a_subscription_that_failed_for_a_while_is_caught_up_by_the_reconciliation(linked, codes, xero_staff):
    paid, voided = sent(codes, 2)
    (credit_note,) = sent(codes, kind=Invoice.Kind.CREDIT_NOTE)
    App.objects.update(webhook_url="http://127.0.0.1:9/integrations/xero/webhooks/")  # nobody answers
    act(xero_staff, "document_pay_full", paid)
    act(xero_staff, "document_void", voided)
    act(xero_staff, "document_void", credit_note)
    assert not any(d.delivered_at for d in deliver())
    RequestLog.objects.all().delete()

    row = reconciliation.reconciliation_run()
    assert [reloaded(d).status for d in (paid, voided, credit_note)] == [Status.PAID, Status.VOIDED, Status.VOIDED]
    assert record_of(paid).status_source == "reconciliation"
    assert (row.last_changed, row.last_error, row.last_success_at is not None) == (3, "", True)
    assert row.invoices_read_to and row.credit_notes_read_to
    assert xero_reads() == 2  # invoices, credit notes: one page each

    again = reconciliation.reconciliation_run()
    assert again.last_changed == 0 and again.last_error == ""


def test_the_reconciliation_walks_the_changes_by_time_and_misses_none(linked, codes, monkeypatch):
    monkeypatch.setattr(values, "MODIFIED_PAGE_SIZE", 2)
    invoices = sent(codes, 5)
    for invoice in invoices:
        books.document_pay(document=in_xero(invoice), amount=Decimal("287.50"))
    # All changed in the same millisecond: pages must then be turned rather than the time moved on.
    Document.objects.filter(type=Document.INVOICE).update(updated_at=timezone.now())
    row = reconciliation.reconciliation_run()
    assert row.last_error == ""
    assert Invoice.objects.filter(pk__in=[i.pk for i in invoices], status=Status.PAID).count() == 5


def test_a_reconciliation_that_cannot_reach_xero_says_so_and_keeps_its_place(linked, codes, settings):
    sent(codes)
    settings.XERO_API_URL = "http://127.0.0.1:9"
    row = reconciliation.reconciliation_run()
    assert "could not be reached" in row.last_error
    assert row.last_success_at is None and row.invoices_read_to is None


def test_the_command_reconciles_a_date_range(linked, codes):
    (invoice,) = sent(codes)
    books.document_pay(document=in_xero(invoice), amount=Decimal("287.50"))
    tomorrow = timezone.now().date() + datetime.timedelta(days=1)
    call_command("xero_reconcile", "--since", str(tomorrow))
    assert reloaded(invoice).status == Status.ISSUED
    call_command("xero_reconcile", "--since", str(tomorrow - datetime.timedelta(days=2)), "--until", str(tomorrow))
    assert reloaded(invoice).status == Status.PAID
    assert Reconciliation.objects.get().invoices_read_to is None  # an explicit range leaves the periodic place alone
    with pytest.raises(CommandError, match="is not a date"):
        call_command("xero_reconcile", "--since", "27/11/2026")


def test_the_periodic_run_also_applies_events_whose_task_was_lost(linked, codes, xero_staff):
    (invoice,) = sent(codes)
    act(xero_staff, "document_pay_full", invoice)
    deliver()
    assert WebhookEvent.objects.filter(state="pending").exists()
    from integrations.xero.tasks import reconcile_statuses

    reconcile_statuses()
    assert not WebhookEvent.objects.filter(state="pending").exists()
    assert reloaded(invoice).status == Status.PAID


def test_the_add_ons_page_shows_the_receivers_health(linked, codes, xero_staff, admin_client):
    (invoice,) = sent(codes)
    act(xero_staff, "document_pay_full", invoice)
    delivered_and_processed()
    reconciliation.reconciliation_run()
    page = admin_client.get("/addons/").content.decode()
    assert "Statuses from Xero" in page
    assert "1 applied" in page
    assert "0 rejected" in page
    assert "documents read back" in page


# --- A foreign currency the organisation has enabled: sent in it at Xero's daily rate unless the platform holds
# one for the document (never 1 by default), and a part payment coming back in it ------------------------------
def issued_in_usd(codes, **fields):
    account = BillingAccountFactory(code="ACME01", currency="USD")
    draft = draft_with_lines(
        line(rate=codes["rate"], tax_rate=codes["tax"], unit_price="100.00", quantity="2.5"),
        billing_account=account,
        currency="USD",
        **fields,
    )
    invoice = services.invoice_issue(invoice=draft)
    while sending.sync_round_push():
        pass
    assert record_of(invoice).state == "sent", record_of(invoice).error
    return invoice


def test_a_usd_invoice_is_sent_in_usd_and_converted_at_xeros_rate_for_its_date(linked, codes):
    invoice = issued_in_usd(codes)
    document = in_xero(invoice)
    day_rate = document.organisation.rate_on("USD", invoice.issue_date)
    assert (document.currency_code, document.total, document.currency_rate) == ("USD", Decimal("287.50"), day_rate)
    assert day_rate != 1


def test_a_rate_the_platform_holds_for_the_document_is_the_one_xero_uses(linked, codes):
    invoice = issued_in_usd(codes, exchange_rate=Decimal("0.612345"))
    assert in_xero(invoice).currency_rate == Decimal("0.612345")


@pytest.mark.usefixtures("linked")
def test_a_part_payment_of_a_usd_invoice_comes_back_in_usd(codes, xero_staff):
    invoice = issued_in_usd(codes)
    act(xero_staff, "document_pay_part", invoice, amount="100.00")
    delivered_and_processed()
    record = record_of(invoice)
    assert (reloaded(invoice).amount_paid, record.amount_paid, record.amount_due) == (
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal("187.50"),
    )
    assert reloaded(invoice).currency == "USD"
