"""The sending rules, on the in-memory Xero (api/fake.py): each issued document reaches Xero once, a
refusal fails only its own document with Xero's words, an unknown outcome is settled by number, a
namesake is a clash unless it is the same sale, and credit is allocated within what is left. The same
rules over HTTP against the sandbox are in test_sync.py (the contract tier)."""

import datetime
from decimal import Decimal

from django.utils import timezone

from billing.models import Invoice
from billing.tests.factories import BillingAccountFactory, RateFactory
from integrations.xero.api.errors import XeroError, XeroNeedsRelink
from integrations.xero.conftest import issued, state_of
from integrations.xero.models import SyncRecord, XeroConnection
from integrations.xero.outbound import sending, sync_exceptions


def due_now():
    """Let waiting documents' back-off pass, as time would."""
    SyncRecord.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))


def test_each_issued_document_reaches_xero_once_with_its_customer_created_once(fake_xero, codes):
    account = BillingAccountFactory(code="ACME01", name="Acme Ltd")
    documents = [issued(codes, account=account), issued(codes, account=account), issued(codes)]
    assert sending.sync_round_push() == 3
    assert sending.sync_round_push() == 0  # nothing left to send
    assert [state_of(d).state for d in documents] == ["sent"] * 3
    assert sorted(d.number for d in fake_xero.org.documents.values()) == sorted(d.number for d in documents)
    assert sorted(c.account_number for c in fake_xero.org.contacts.values()) == sorted(
        ["ACME01", documents[2].billing_account.code]
    )
    assert fake_xero.org.calls.count("create_documents") == 1
    assert state_of(documents[0]).xero_total == Decimal("287.50")  # 2.5 × 100.00 + 15 % GST, as Xero totals it


def test_a_document_xero_refuses_fails_alone_with_xeros_words(fake_xero, codes):
    # The cached chart still lists 260, which has since gone from Xero: the pre-send check passes it.
    fake_xero.connection.chart_of_accounts.append({**fake_xero.connection.chart_of_accounts[0], "code": "260"})
    fake_xero.connection.save()
    refused = issued(codes, rate=RateFactory(revenue_account_code="260"))
    fine = issued(codes)
    sending.sync_round_push()
    assert state_of(fine).state == "sent"
    record = state_of(refused)
    assert record.state == "failed"
    assert record.error == "Xero refused it: Account code '260' is not a valid code for this document."


def test_a_code_missing_from_the_chart_is_held_back_before_anything_is_sent(fake_xero, codes):
    held = issued(codes, rate=RateFactory(label="Air freight", revenue_account_code="999"))
    sending.sync_round_push()
    assert state_of(held).state == "failed" and state_of(held).error.startswith("Not sent:")
    assert "999" in state_of(held).error and "create_documents" not in fake_xero.org.calls


def test_an_answer_lost_after_xero_created_the_documents_is_settled_by_number_not_sent_twice(fake_xero, codes):
    invoice = issued(codes)
    fake_xero.org.fail(
        "create_documents", XeroError("Xero could not be reached (ReadTimeoutError)."), after_doing_it=True
    )
    sending.sync_round_push()
    assert state_of(invoice).state == "waiting" and state_of(invoice).outcome_unknown
    due_now()
    sending.sync_round_push()
    record = state_of(invoice)
    assert record.state == "sent" and not record.outcome_unknown
    assert [str(record.xero_id)] == [d.xero_id for d in fake_xero.org.sales(invoice.number)]
    assert fake_xero.org.calls.count("create_documents") == 1  # looked up, never re-sent


def test_a_sales_document_of_another_sale_under_the_same_number_is_a_clash_for_a_person(fake_xero, codes):
    invoice = issued(codes)
    stranger = fake_xero.org.add_contact(name="Someone Else Ltd", account_number="ELSE01")
    theirs = fake_xero.org.add_document(
        type="ACCREC", number=invoice.number, contact=stranger, total=Decimal("999.00"), date=invoice.issue_date
    )
    sending.sync_round_push()
    record = state_of(invoice)
    assert record.state == "failed" and str(record.clash_xero_id) == theirs.xero_id
    assert "Someone Else Ltd" in record.error and "999.00" in record.error
    assert len(fake_xero.org.sales(invoice.number)) == 1  # theirs alone: nothing adopted, nothing doubled


def test_a_namesake_of_the_same_total_and_date_to_another_customer_is_still_a_clash(fake_xero, codes):
    invoice = issued(codes)
    stranger = fake_xero.org.add_contact(name="Someone Else Ltd", account_number="ELSE01")
    fake_xero.org.add_document(
        type="ACCREC", number=invoice.number, contact=stranger, total=invoice.total, date=invoice.issue_date
    )
    sending.sync_round_push()
    assert state_of(invoice).state == "failed" and state_of(invoice).clash_xero_id is not None


def test_the_same_sale_entered_by_hand_in_xero_is_adopted_as_sent(fake_xero, codes):
    account = BillingAccountFactory(code="ACME01", name="Acme Ltd")
    invoice = issued(codes, account=account)
    acme = fake_xero.org.add_contact(name="Acme Ltd", account_number="ACME01")
    by_hand = fake_xero.org.add_document(
        type="ACCREC", number=invoice.number, contact=acme, total=Decimal("287.49"), date=invoice.issue_date
    )  # a cent off: Xero rounds tax per line
    sending.sync_round_push()
    assert state_of(invoice).state == "sent" and str(state_of(invoice).xero_id) == by_hand.xero_id
    assert len(fake_xero.org.sales(invoice.number)) == 1


def test_a_supplier_bill_under_the_same_number_is_neither_ours_nor_a_clash(fake_xero, codes):
    invoice = issued(codes)
    supplier = fake_xero.org.add_contact(name="Shipping Line Ltd")
    fake_xero.org.add_document(
        type="ACCPAY", number=invoice.number, contact=supplier, total=Decimal("10.00"), date=invoice.issue_date
    )
    sending.sync_round_push()
    assert state_of(invoice).state == "sent"
    assert [d.type for d in fake_xero.org.documents.values() if d.number == invoice.number] == ["ACCPAY", "ACCREC"]


def test_a_passing_failure_leaves_the_batch_waiting_with_its_reason_and_a_back_off(fake_xero, codes):
    invoice = issued(codes)
    fake_xero.org.fail("create_documents", XeroError("Xero answered HTTP 503; it will be tried again.", status=503))
    sending.sync_round_push()
    record = state_of(invoice)
    assert record.state == "waiting" and "503" in record.error and record.attempts == 1
    assert record.next_attempt_at > timezone.now()
    assert fake_xero.org.documents == {}


def test_a_link_xero_no_longer_accepts_is_marked_for_re_linking_and_nothing_is_lost(fake_xero, codes):
    invoice = issued(codes)
    fake_xero.org.fail("find_contacts", XeroNeedsRelink("Xero says the app is no longer connected.", status=403))
    sending.sync_round_push()
    assert XeroConnection.objects.get().status == XeroConnection.Status.NEEDS_RELINK
    assert state_of(invoice).state == "waiting"
    assert sending.sync_round_push() == 0  # nothing is tried until the person links again


def test_a_credit_note_is_allocated_at_most_what_its_invoice_still_owes(fake_xero, codes):
    account = BillingAccountFactory()
    invoice = issued(codes, account=account)  # 287.50
    sending.sync_round_push()
    fake_xero.org.pay(str(state_of(invoice).xero_id), Decimal("200.00"))  # part paid in Xero meanwhile
    credit_note = issued(codes, account=account, kind=Invoice.Kind.CREDIT_NOTE, credited_invoice=invoice)
    sending.sync_round_push(), sending.sync_round_push()  # the credit note, then its allocation
    record = state_of(credit_note)
    assert record.allocated_amount == Decimal("87.50")
    number = invoice.number
    assert (
        record.allocation_note
        == f"Allocated 87.50 of 287.50 to invoice {number}: invoice {number} had 87.50 left to pay in Xero."
    )
    assert fake_xero.org.calls.count("allocate_credit_note") == 1


def test_a_document_in_a_currency_the_organisation_lacks_is_held_back_with_how_to_fix_it(fake_xero, codes):
    # Issued before the organisation's currencies were known, say: it is never sent to be refused.
    invoice = issued(codes, account=BillingAccountFactory(currency="GBP"))
    sending.sync_round_push()
    record = state_of(invoice)
    assert record.state == "failed" and "create_documents" not in fake_xero.org.calls
    assert record.error.startswith("Not sent: Its currency GBP is not enabled in the Xero organisation")
    assert "Settings › Currencies" in record.error

    fake_xero.org.currencies.append("GBP")  # enabled in Xero, then read again (Recheck)
    XeroConnection.objects.update(currencies=["NZD", "GBP"])
    sync_exceptions.sync_record_retry(record=record)
    sending.sync_round_push()
    assert state_of(invoice).state == "sent"


def test_a_customer_whose_code_xero_holds_in_another_case_fails_naming_that_contact(fake_xero, codes):
    fake_xero.org.add_contact(name="Acme Freight (old)", account_number="acme01")
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01", name="Acme Ltd"))
    sending.sync_round_push()
    record = state_of(invoice)
    assert record.state == "failed"
    assert "Xero's contact “Acme Freight (old)” has the Account Number acme01" in record.error
    assert "only in case" in record.error and "archived" not in record.error


def test_a_customer_whose_code_an_archived_contact_holds_fails_saying_so(fake_xero, codes):
    fake_xero.org.add_contact(name="Acme Ltd", account_number="ACME01", status="ARCHIVED")
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01", name="Acme Ltd"))
    sending.sync_round_push()
    assert "archived" in state_of(invoice).error and "Acme Ltd" in state_of(invoice).error


def test_a_document_sent_a_moment_ago_does_not_say_zero_minutes(fake_xero, codes, client):
    from django.contrib.auth import get_user_model

    invoice = issued(codes)
    sending.sync_round_push()
    client.force_login(get_user_model().objects.create_superuser("finance", password="pw"))
    page = client.get(invoice.get_absolute_url()).content.decode()
    assert "sent now" in page or "seconds ago" in page
    assert "0 minutes" not in page
