"""Issued documents reach the sandbox's Xero exactly once, over HTTP, in batches."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from billing import services
from billing.models import Invoice
from billing.tests.factories import BillingAccountFactory, RateFactory, TaxRateFactory, draft_with_lines, line
from integrations.xero.conftest import (
    fault_once,
    issued,
    link,
    linked_org,
    path_and_query,
    sandbox_documents,
    state_of,
    wait_until,
)
from integrations.xero.models import ContactLink, SyncRecord, XeroConnection
from integrations.xero.outbound import sending, sync_exceptions
from xero_sandbox.models import Contact, Document, Fault, RequestLog


def test_issuing_writes_the_outbox_row_in_the_same_transaction(linked, codes):
    draft = draft_with_lines(line(rate=codes["rate"], tax_rate=codes["tax"]))
    with pytest.raises(RuntimeError), transaction.atomic():
        services.invoice_issue(invoice=draft)
        assert SyncRecord.objects.filter(invoice=draft).exists()
        raise RuntimeError("the issue rolls back")
    assert not SyncRecord.objects.exists()
    issued_invoice = services.invoice_issue(invoice=draft)
    assert state_of(issued_invoice).state == "waiting"


def test_a_batch_is_sent_in_one_call_and_each_answer_lands_on_its_own_document(linked, codes):
    acme = BillingAccountFactory(code="ACME01", name="Acme Imports Ltd")
    invoices = [issued(codes, account=acme) for _ in range(3)]
    RequestLog.objects.all().delete()
    assert sending.sync_round_push() == 3
    for invoice in invoices:
        record = state_of(invoice)
        assert (record.state, record.xero_number, record.xero_status) == ("sent", invoice.number, "AUTHORISED")
        assert record.xero_total == invoice.total == Decimal("287.50")
        assert sandbox_documents(invoice.number).count() == 1
    assert RequestLog.objects.filter(method="PUT", path__icontains="/Invoices").count() == 1


def test_a_known_customer_is_matched_by_account_number_without_creating_a_contact(linked, codes):
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01", name="Acme Imports Ltd"))
    contacts_before = Contact.objects.count()
    sending.sync_round_push()
    seeded = Contact.objects.get(account_number="ACME01")
    assert sandbox_documents(invoice.number).get().contact == seeded
    assert Contact.objects.count() == contacts_before
    assert str(ContactLink.objects.get().contact_id) == str(seeded.contact_id)


def test_a_new_billing_account_becomes_a_new_xero_contact_once(linked, codes):
    account = BillingAccountFactory(code="NEWCO-1", name="New Co Ltd")
    issued(codes, account=account)
    sending.sync_round_push()
    issued(codes, account=account)
    sending.sync_round_push()
    created = Contact.objects.get(account_number="NEWCO-1")
    assert created.name == "New Co Ltd"
    assert Document.objects.filter(contact=created).count() == 2


def test_an_archived_contact_or_a_name_clash_is_a_failure_saying_what_to_fix(linked, codes):
    archived = issued(codes, account=BillingAccountFactory(code="BLUEFIN", name="Bluefin Seafoods Ltd"))
    clash = issued(codes, account=BillingAccountFactory(code="KIWI-TRADERS", name="Kiwi Traders"))
    fine = issued(codes, account=BillingAccountFactory(code="ACME01"))
    sending.sync_round_push()
    assert state_of(archived).state == "failed" and "is archived: un-archive it in Xero" in state_of(archived).error
    assert state_of(clash).state == "failed"
    assert "Set that Xero contact's Account Number to KIWI-TRADERS" in state_of(clash).error
    assert state_of(fine).state == "sent"


def test_a_bad_revenue_or_tax_code_is_caught_before_sending_and_the_retry_after_the_fix_succeeds(linked, codes):
    archived_code = RateFactory(label="Old sales", revenue_account_code="OLD|250")
    expenses_only = TaxRateFactory(name="GST on expenses", accounting_code="INPUT2")
    bad_rate = issued(codes, account=BillingAccountFactory(code="ACME01"), rate=archived_code)
    bad_tax = issued(codes, account=BillingAccountFactory(code="HARB-7"), tax=expenses_only)
    RequestLog.objects.all().delete()
    sending.sync_round_push()
    assert "The rate “Old sales” (Rates › Old sales) has revenue account code 250" in state_of(bad_rate).error
    assert "is archived" in state_of(bad_rate).error
    assert "cannot be used on sales" in state_of(bad_tax).error
    assert not RequestLog.objects.filter(method="PUT").exists()  # nothing was sent

    archived_code.revenue_account_code = "OLD|260"
    archived_code.save()
    sync_exceptions.sync_record_retry(record=state_of(bad_rate))
    sending.sync_round_push()
    assert state_of(bad_rate).state == "sent"


def test_a_500_after_xero_wrote_the_batch_does_not_duplicate_it(linked, codes):
    fault_once(linked, Fault.Kind.ERROR_AFTER_COMMIT, method="PUT", path="/Invoices")
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01"))
    sending.sync_round_push()
    record = state_of(invoice)
    assert (record.state, record.outcome_unknown) == ("waiting", True)
    SyncRecord.objects.update(next_attempt_at=timezone.now())
    sending.sync_round_push()
    assert state_of(invoice).state == "sent"
    assert sandbox_documents(invoice.number).count() == 1


def test_a_document_paid_in_xero_before_its_unknown_outcome_was_settled_arrives_paid(linked, codes):
    from xero_sandbox import books

    fault_once(linked, Fault.Kind.ERROR_AFTER_COMMIT, method="PUT", path="/Invoices")
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01"))
    sending.sync_round_push()  # Xero has it; the platform does not know (its webhook would be ignored as not ours)
    books.document_pay(document=sandbox_documents(invoice.number).get(), amount=Decimal("287.50"))
    SyncRecord.objects.update(next_attempt_at=timezone.now())
    sending.sync_round_push()  # found by number, its state read back
    invoice.refresh_from_db()
    assert (state_of(invoice).state, invoice.status) == ("sent", Invoice.Status.PAID)
    assert state_of(invoice).amount_due == Decimal("0.00")


def test_a_timeout_while_xero_is_still_writing_does_not_duplicate(linked, codes, settings):
    settings.XERO_TIMEOUT = (5.0, 0.5)
    fault_once(linked, Fault.Kind.SLOW, method="PUT", path="/Invoices", delay_seconds=1.0)
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01"))
    sending.sync_round_push()
    assert state_of(invoice).outcome_unknown
    wait_until(lambda: sandbox_documents(invoice.number).exists())
    SyncRecord.objects.update(next_attempt_at=timezone.now())
    sending.sync_round_push()
    assert state_of(invoice).state == "sent"
    assert sandbox_documents(invoice.number).count() == 1


def test_a_429_waits_its_retry_after_without_failing(linked, codes):
    Fault.objects.create(organisation=linked_org(linked), kind=Fault.Kind.RATE_LIMIT, method="PUT", remaining=1)
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01"))
    sending.sync_round_push()
    record = state_of(invoice)
    assert (record.state, record.outcome_unknown) == ("waiting", False)
    assert record.next_attempt_at > timezone.now() + datetime.timedelta(seconds=30)


def test_a_link_that_needs_relinking_pauses_sending_and_loses_nothing(linked, codes, sandbox, admin_client):
    XeroConnection.objects.update(status="needs_relink", last_error="Xero no longer accepts this link")
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01"))
    assert sending.sync_round_push() == 0
    assert state_of(invoice).state == "waiting"
    link(admin_client, sandbox["NZ"])
    sending.sync_round_push()
    assert state_of(invoice).state == "sent"


def test_a_credit_note_goes_to_xero_as_a_credit_note(linked, codes):
    account = BillingAccountFactory(code="ACME01")
    credit_note = issued(codes, account=account, kind=Invoice.Kind.CREDIT_NOTE)
    sending.sync_round_push()
    sent = sandbox_documents(credit_note.number).get()
    assert (sent.type, sent.total, state_of(credit_note).state) == ("ACCRECCREDIT", Decimal("287.50"), "sent")


def test_claims_of_a_dead_worker_go_back_to_waiting_with_their_outcome_unknown(linked, codes):
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01"))
    SyncRecord.objects.update(state="sending", claimed_until=timezone.now() - datetime.timedelta(seconds=1))
    assert sending.sync_claims_release_stale() == 1
    assert (state_of(invoice).state, state_of(invoice).outcome_unknown) == ("waiting", True)
    sending.sync_round_push()
    assert sandbox_documents(invoice.number).count() == 1


def test_the_document_page_shows_its_xero_state(linked, codes, admin_client):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.get(username="admin")
    user.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01"))
    assert "Waiting to be sent" in admin_client.get(invoice.get_absolute_url()).content.decode()
    sending.sync_round_push()
    page = admin_client.get(invoice.get_absolute_url()).content.decode()
    assert f'data-testid="xero-number">{invoice.number}<' in page and "Open in Xero" in page


def test_a_credit_note_naming_its_invoice_is_allocated_against_it_up_to_the_amount_due(linked, codes):
    account = BillingAccountFactory(code="ACME01")
    invoice = issued(codes, account=account)  # 287.50
    credit_note = issued(
        codes, account=account, kind=Invoice.Kind.CREDIT_NOTE, credited_invoice=invoice, unit_price="40"
    )
    while sending.sync_round_push():
        pass
    in_xero = sandbox_documents(invoice.number).get()
    assert state_of(credit_note).allocated_amount == Decimal("115.00")
    assert (in_xero.amount_credited, in_xero.amount_due, in_xero.status) == (
        Decimal("115.00"),
        Decimal("172.50"),
        "AUTHORISED",
    )


def test_a_credit_note_larger_than_what_is_due_is_allocated_only_up_to_the_amount_due(linked, codes):
    account = BillingAccountFactory(code="ACME01")
    invoice = issued(codes, account=account, unit_price="10")  # 28.75
    credit_note = issued(codes, account=account, kind=Invoice.Kind.CREDIT_NOTE, credited_invoice=invoice)  # 287.50
    while sending.sync_round_push():
        pass
    assert state_of(credit_note).allocated_amount == Decimal("28.75")
    assert sandbox_documents(invoice.number).get().status == "PAID"


def test_an_allocation_that_got_through_before_a_500_is_recorded_not_refused_or_repeated(linked, codes):
    account = BillingAccountFactory(code="ACME01")
    invoice = issued(codes, account=account, unit_price="10")  # 28.75
    credit_note = issued(codes, account=account, kind=Invoice.Kind.CREDIT_NOTE, credited_invoice=invoice)  # 287.50
    fault_once(linked, Fault.Kind.ERROR_AFTER_COMMIT, method="PUT", path="/Allocations")
    while sending.sync_round_push():
        pass  # the allocation's answer was a 500, after Xero had made it
    assert state_of(credit_note).allocated_amount is None
    sending.sync_round_push()  # the invoice owes nothing now: what was allocated is read, not recomputed
    record = state_of(credit_note)
    assert (record.allocated_amount, record.allocation_error) == (Decimal("28.75"), "")
    in_xero = sandbox_documents(invoice.number).get()
    assert (in_xero.amount_credited, in_xero.status) == (Decimal("28.75"), "PAID")


def test_an_allocation_that_meets_a_link_needing_re_linking_is_made_once_linked_again(
    linked, codes, sandbox, admin_client
):
    account = BillingAccountFactory(code="ACME01")
    invoice = issued(codes, account=account)  # 287.50
    credit_note = issued(
        codes, account=account, kind=Invoice.Kind.CREDIT_NOTE, credited_invoice=invoice, unit_price="40"
    )
    sending.sync_round_push(), sending.sync_round_push()  # the invoice, then the credit note
    connection = XeroConnection.objects.get()
    connection.refresh_token = "revoked-in-xero"  # the next refresh is refused: the link needs re-linking
    connection.access_token_expires_at = timezone.now()
    connection.save()
    sending.sync_round_push()
    assert state_of(credit_note).allocation_error == ""  # not a refusal of the allocation: it waits
    link(admin_client, sandbox["NZ"])
    sending.sync_round_push()
    assert state_of(credit_note).allocated_amount == Decimal("115.00")
    assert sandbox_documents(invoice.number).get().amount_credited == Decimal("115.00")


def test_the_document_list_shows_each_documents_xero_state(linked, codes, admin_client):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    get_user_model().objects.get(username="admin").user_permissions.add(Permission.objects.get(codename="view_invoice"))
    acme = BillingAccountFactory(code="ACME01")
    sent = issued(codes, account=acme)
    sending.sync_round_push()
    waiting = issued(codes, account=acme)
    page = admin_client.get("/invoices/").content.decode()
    assert page.count("Xero: sent") == 1 and page.count("Xero: waiting") == 1
    assert sent.number in page and waiting.number in page


def test_a_contact_another_worker_created_meanwhile_is_adopted_not_failed(linked, codes, monkeypatch):
    from integrations.xero.api import accounting
    from integrations.xero.api.values import Found

    account = BillingAccountFactory(code="RACE-1", name="Race Ltd")
    # Another worker created the contact just after this worker looked the code up and found nothing.
    Contact.objects.create(organisation=linked_org(linked), name="Race Ltd", account_number="RACE-1", is_customer=True)
    real_lookup, lookups = accounting.find_contacts, []

    def stale_first_lookup(session, **kwargs):
        lookups.append(kwargs)
        return Found([], {}) if len(lookups) == 1 else real_lookup(session, **kwargs)

    monkeypatch.setattr(accounting, "find_contacts", stale_first_lookup)
    invoice = issued(codes, account=account)
    sending.sync_round_push()
    assert state_of(invoice).state == "sent"
    assert Contact.objects.filter(account_number="RACE-1").count() == 1


def test_new_customers_of_later_batches_are_resolved_with_the_first_batchs_calls(linked, codes):
    accounts = [BillingAccountFactory(code=f"NEW-{n:02d}") for n in range(4)]
    for account in accounts:
        for _ in range(2):
            issued(codes, account=account)
    sending.BATCH_SIZE, batch_size = 2, sending.BATCH_SIZE  # small batches, several rounds
    try:
        RequestLog.objects.all().delete()
        while sending.sync_round_push():
            pass
    finally:
        sending.BATCH_SIZE = batch_size
    assert SyncRecord.objects.filter(state="sent").count() == 8
    contact_calls = RequestLog.objects.filter(path__icontains="/Contacts").count()
    assert contact_calls == 2  # one lookup and one create for all four new customers


def test_open_in_xero_leads_to_the_document_in_the_configured_xero(linked, codes, client, settings):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("finance", password="pw"))
    invoice = issued(codes)
    sending.sync_round_push()
    page = client.get(invoice.get_absolute_url()).content.decode()
    link = re.search(r'href="([^"]+)"[^>]*data-testid="open-in-xero"', page).group(1)
    assert link.startswith(f"{settings.XERO_WEB_URL}/AccountsReceivable/View.aspx?InvoiceID=")
    opened = client.get(path_and_query(link), follow=True)
    assert opened.status_code == 200 and invoice.number in opened.content.decode()  # the sandbox's page of it
