"""Earlier documents sent on request, over HTTP against the sandbox: issued before the add-on wrote their
outbox rows, counted and totalled first, sent once confirmed (after newly issued documents), matched when Xero
holds them already (entered by hand before the link), never doubled; progress shown until done."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice
from billing.tests.factories import BillingAccountFactory
from integrations.xero.conftest import issued, linked_org, make_admin, state_of
from integrations.xero.models import Backfill, SyncRecord
from integrations.xero.outbound import backfill, sending
from xero_sandbox import books
from xero_sandbox.models import Contact, Document

TODAY = timezone.localdate()
LAST_MONTH = TODAY - datetime.timedelta(days=30)


@pytest.fixture
def account(db):
    return BillingAccountFactory(code="ACME01", name="Acme Imports Ltd")


def issued_before_the_link(codes, settings, count=1, **fields) -> list[Invoice]:
    """Documents issued while the add-on was off: no outbox row was written for them."""
    settings.XERO_ENABLED = False
    documents = [issued(codes, **fields) for _ in range(count)]
    settings.XERO_ENABLED = True
    assert not SyncRecord.objects.filter(invoice__in=documents).exists()
    return documents


def push_all() -> None:
    while sending.sync_round_push():
        pass


def start(client, issued_from=LAST_MONTH):
    return client.post(reverse("xero:backfill_start"), {"issued_from": issued_from.isoformat()}, follow=True)


def in_xero(invoice: Invoice) -> list[Document]:
    return list(Document.objects.filter(number=invoice.number, type="ACCREC"))


def test_the_preview_counts_the_open_documents_issued_since_the_day_and_their_total(
    linked, codes, settings, account, admin_client
):
    two = issued_before_the_link(codes, settings, 2, account=account, issue_date=TODAY)
    issued_before_the_link(codes, settings, account=account, kind=Invoice.Kind.CREDIT_NOTE, issue_date=TODAY)
    issued_before_the_link(codes, settings, account=account, issue_date=LAST_MONTH - datetime.timedelta(days=1))
    (voided,) = issued_before_the_link(codes, settings, account=account, issue_date=TODAY)
    Invoice.objects.filter(pk=voided.pk).update(status=Invoice.Status.VOIDED)
    issued(codes, account=account)  # issued with the add-on on: in the outbox already
    page = admin_client.get(reverse("xero:backfill"), {"issued_from": LAST_MONTH.isoformat()}).content.decode()
    assert "<strong>3 documents</strong>" in page  # two invoices and the credit note
    assert f"NZD {sum(d.total for d in two) - two[0].total:,.2f}" in page  # 287.50 × 2 − 287.50
    assert "Send 3 to Xero" in page
    assert not Backfill.objects.exists() and SyncRecord.objects.count() == 1  # counting changes nothing


def test_earlier_documents_are_sent_once_confirmed_and_the_progress_says_so(
    linked, codes, settings, account, admin_client
):
    earlier = issued_before_the_link(codes, settings, 3, account=account)
    page = start(admin_client).content.decode()
    assert "3 documents of" in page and 'data-testid="backfill-waiting">3<' in page
    push_all()
    assert [len(in_xero(invoice)) for invoice in earlier] == [1, 1, 1]
    page = admin_client.get(reverse("xero:backfill_detail", args=[Backfill.objects.get().pk])).content.decode()
    assert "Done: every document has been through." in page and 'data-testid="backfill-sent">3<' in page
    addons = admin_client.get("/addons/").content.decode()
    assert "3 of 3 sent" in addons


def test_a_document_entered_in_xero_by_hand_before_the_link_is_matched_not_sent_again(
    linked, codes, settings, account, admin_client
):
    (typed, fresh) = issued_before_the_link(codes, settings, 2, account=account)
    organisation = linked_org(linked)
    customer = Contact.objects.get(organisation=organisation, account_number="ACME01")  # the customer's, in Xero
    by_hand = books.outside_document_create(
        organisation, type="ACCREC", number=typed.number, contact_name=customer.name, total=typed.total,
        date=typed.issue_date,
    )  # fmt: skip
    start(admin_client)
    push_all()
    assert state_of(typed).state == "sent", state_of(typed).error
    assert [d.document_id for d in in_xero(typed)] == [by_hand.document_id]
    assert str(state_of(typed).xero_id) == str(by_hand.document_id) and len(in_xero(fresh)) == 1
    progress = backfill.backfill_progress(Backfill.objects.get())
    assert (progress.sent, progress.matched, progress.failed, progress.done) == (2, 1, 0, True)


def test_another_document_under_an_earlier_documents_number_is_left_for_a_person(
    linked, codes, settings, account, admin_client
):
    (earlier,) = issued_before_the_link(codes, settings, account=account)
    books.outside_document_create(
        linked_org(linked), type="ACCREC", number=earlier.number, contact_name="Someone Else Ltd", total=Decimal("99")
    )
    start(admin_client)
    push_all()
    assert len(in_xero(earlier)) == 1 and state_of(earlier).state == "failed"
    assert "already holds a sales invoice numbered" in state_of(earlier).error
    page = admin_client.get(reverse("xero:backfill_detail", args=[Backfill.objects.get().pk])).content.decode()
    assert 'data-testid="backfill-failed">1 — <a href="/integrations/xero/exceptions/">' in page


def test_newly_issued_documents_go_before_earlier_ones(linked, codes, settings, account, admin_client):
    earlier = issued_before_the_link(codes, settings, 3, account=account)
    start(admin_client)
    today = issued(codes, account=account)
    assert sending.sync_round_push() == 1  # the batch is today's document alone
    assert state_of(today).state == "sent"
    assert {state_of(invoice).state for invoice in earlier} == {"waiting"}


def test_asking_twice_sends_nothing_twice(linked, codes, settings, account, admin_client):
    issued_before_the_link(codes, settings, 2, account=account)
    start(admin_client)
    again = start(admin_client).content.decode()
    assert "is left to send" in again
    assert Backfill.objects.count() == 1 and SyncRecord.objects.count() == 2


def test_a_day_in_the_future_is_refused_and_changes_nothing(linked, codes, settings, account, admin_client):
    issued_before_the_link(codes, settings, account=account)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)  # not TODAY: the run may cross midnight
    answer = start(admin_client, issued_from=tomorrow).content.decode()
    assert "is in the future" in answer
    assert not Backfill.objects.exists() and not SyncRecord.objects.exists()


def test_sending_earlier_documents_needs_the_add_ons_permission(linked, codes, settings, account, client):
    issued_before_the_link(codes, settings, account=account)
    client.force_login(make_admin("clerk", can_manage=False))
    assert client.get(reverse("xero:backfill")).status_code == 403
    assert start(client).status_code == 403
    assert not SyncRecord.objects.exists()
