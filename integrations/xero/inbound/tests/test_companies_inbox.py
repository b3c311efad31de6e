"""Statuses back from several organisations, each booking its own company: an event is read back from the
organisation it names, with that organisation's link, and applied to the document that company sent;
events of an organisation no company books are ignored; each linked organisation is reconciled in turn.
First on the in-memory Xero, then over HTTP against the sandbox's NZ and UK organisations."""

import datetime
import io
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import Company, Invoice
from billing.tests.factories import BillingAccountFactory, CompanyFactory, TaxRateFactory
from integrations.xero.api.fake import FakeXeroApi
from integrations.xero.conftest import issued, link, state_of
from integrations.xero.inbound import inbox, reconciliation
from integrations.xero.models import Reconciliation, SyncRecord, WebhookEvent, XeroConnection
from integrations.xero.outbound import sending
from integrations.xero.outbound.tests.companies import au_company, issued_by
from integrations.xero.tests.factories import WebhookEventFactory, XeroConnectionFactory
from xero_sandbox import books
from xero_sandbox import webhooks as sandbox_webhooks
from xero_sandbox.models import App, Connection, Document

Status = Invoice.Status


def push_all() -> None:
    while sending.sync_round_push():
        pass


def status(invoice: Invoice) -> str:
    return Invoice.objects.get(pk=invoice.pk).status


def announce(invoice: Invoice, **fields) -> WebhookEvent:
    record = state_of(invoice)
    return WebhookEventFactory(tenant_id=record.tenant_id, resource_id=record.xero_id, **fields)


@pytest.fixture
def two_sent(fake_xero, codes):
    """One document sent by each company, each to its own in-memory organisation."""
    au = au_company()
    ours, theirs = issued(codes), issued_by(au, codes)
    push_all()
    return au, ours, theirs


# --- On the in-memory Xero -------------------------------------------------------------------------


def test_each_event_is_read_back_from_its_own_organisation_and_applied_to_its_companys_document(fake_xero, two_sent):
    au, ours, theirs = two_sent
    fake_xero.org.pay(str(state_of(ours).xero_id))
    au.org.pay(str(state_of(theirs).xero_id))
    announce(ours), announce(theirs)
    fake_xero.org.calls.clear(), au.org.calls.clear()
    round_ = inbox.webhook_events_process()
    assert (round_.claimed, round_.applied, round_.changed) == (2, 2, 2)
    assert (status(ours), status(theirs)) == (Status.PAID, Status.PAID)
    assert fake_xero.org.calls == au.org.calls == ["read_states"]


def test_events_of_an_organisation_no_company_books_are_ignored_while_the_others_are_applied(fake_xero, two_sent):
    au, _, theirs = two_sent
    au.org.pay(str(state_of(theirs).xero_id))
    gone = XeroConnectionFactory(company=CompanyFactory(), status=XeroConnection.Status.DISCONNECTED)
    strangers = [WebhookEventFactory(), WebhookEventFactory(tenant_id=gone.tenant_id)]
    applied = announce(theirs)
    round_ = inbox.webhook_events_process()
    assert (round_.applied, round_.ignored) == (1, 2)
    assert [WebhookEvent.objects.get(pk=e.pk).outcome for e in strangers] == [inbox.NOT_LINKED] * 2
    assert WebhookEvent.objects.get(pk=applied.pk).state == WebhookEvent.State.APPLIED
    assert status(theirs) == Status.PAID


def test_a_link_waiting_for_a_re_link_holds_back_only_its_own_organisations_events(fake_xero, two_sent):
    au, ours, theirs = two_sent
    fake_xero.org.pay(str(state_of(ours).xero_id))
    au.org.pay(str(state_of(theirs).xero_id))
    XeroConnection.objects.filter(pk=au.connection.pk).update(status=XeroConnection.Status.NEEDS_RELINK)
    held, applied = announce(theirs), announce(ours)
    round_ = inbox.webhook_events_process()
    assert round_.interrupted and round_.applied == 1
    assert WebhookEvent.objects.get(pk=held.pk).state == WebhookEvent.State.PENDING
    assert WebhookEvent.objects.get(pk=applied.pk).state == WebhookEvent.State.APPLIED
    assert (status(ours), status(theirs)) == (Status.PAID, Status.ISSUED)


def test_documents_are_read_back_each_from_the_organisation_it_was_sent_to(fake_xero, two_sent):
    au, ours, theirs = two_sent
    fake_xero.org.pay(str(state_of(ours).xero_id))
    au.org.pay(str(state_of(theirs).xero_id))
    assert inbox.document_states_read_back(record_ids=[state_of(ours).pk, state_of(theirs).pk]) == 2
    assert (status(ours), status(theirs)) == (Status.PAID, Status.PAID)


def test_the_periodic_reconciliation_reads_each_active_link_in_turn(fake_xero, two_sent, codes):
    au, ours, theirs = two_sent
    relink = au_company(status=XeroConnection.Status.NEEDS_RELINK)
    fake_xero.org.pay(str(state_of(ours).xero_id))
    au.org.pay(str(state_of(theirs).xero_id))
    rows = reconciliation.reconciliation_run_periodic()
    assert sorted(row.tenant_id for row in rows) == sorted([fake_xero.connection.tenant_id, au.connection.tenant_id])
    assert [row.last_changed for row in rows] == [1, 1]
    assert (status(ours), status(theirs)) == (Status.PAID, Status.PAID)
    assert relink.org.calls == [] and not Reconciliation.objects.filter(tenant_id=relink.connection.tenant_id)


def settle(invoice: Invoice, xero_status: str) -> None:
    """What a webhook would have brought back: the sent document is now so in Xero."""
    SyncRecord.objects.filter(invoice=invoice).update(xero_status=xero_status)


def test_the_periodic_reconciliation_reads_only_organisations_where_a_sent_document_can_still_change(
    fake_xero, two_sent, codes
):
    au, ours, theirs = two_sent
    idle = au_company()  # linked, nothing sent
    settled = au_company()
    voided, deleted = issued_by(settled, codes), issued_by(settled, codes)
    push_all()
    settle(voided, "VOIDED"), settle(deleted, "DELETED")  # Xero changes neither again
    rows = reconciliation.reconciliation_run_periodic()
    assert sorted(row.tenant_id for row in rows) == sorted([fake_xero.connection.tenant_id, au.connection.tenant_id])
    assert idle.org.calls == [] and "read_modified_states" not in settled.org.calls
    assert not Reconciliation.objects.filter(tenant_id__in=[idle.connection.tenant_id, settled.connection.tenant_id])


def test_an_organisation_whose_documents_are_all_paid_is_read_every_few_hours(fake_xero, two_sent, settings):
    au, _, theirs = two_sent
    assert au.connection in reconciliation.connections_due()  # its document is open
    au.org.pay(str(state_of(theirs).xero_id))  # a payment may yet be removed in Xero
    reconciliation.reconciliation_run(connection=au.connection)
    assert state_of(theirs).xero_status == "PAID"
    assert au.connection not in reconciliation.connections_due()
    later = timezone.now() + datetime.timedelta(hours=settings.XERO_RECONCILE_QUIET_HOURS)
    assert au.connection in reconciliation.connections_due(now=later)
    assert fake_xero.connection in reconciliation.connections_due()  # its document is open: every run


def test_a_read_starts_no_earlier_than_the_oldest_sent_document_that_can_still_change(
    fake_xero, two_sent, monkeypatch, settings
):
    au, _, theirs = two_sent
    months_ago = timezone.now() - datetime.timedelta(days=90)
    Reconciliation.objects.create(tenant_id=au.connection.tenant_id, invoices_read_to=months_ago)
    starts = []
    read = FakeXeroApi.read_modified_states

    def noting_the_start(api, *, credit_notes, modified_after, page):
        starts.append(modified_after)
        return read(api, credit_notes=credit_notes, modified_after=modified_after, page=page)

    monkeypatch.setattr(FakeXeroApi, "read_modified_states", noting_the_start)
    reconciliation.reconciliation_run(connection=au.connection)
    overlap = datetime.timedelta(seconds=settings.XERO_RECONCILE_OVERLAP_SECONDS)
    assert len(starts) == 2 and min(starts) == state_of(theirs).sent_at - overlap


def test_one_organisation_is_reconciled_when_its_link_is_named(fake_xero, two_sent):
    au, ours, theirs = two_sent
    fake_xero.org.pay(str(state_of(ours).xero_id))
    au.org.pay(str(state_of(theirs).xero_id))
    row = reconciliation.reconciliation_run(connection=au.connection)
    assert row.tenant_id == au.connection.tenant_id and row.last_changed == 1
    assert (status(ours), status(theirs)) == (Status.ISSUED, Status.PAID)
    assert "read_modified_states" not in fake_xero.org.calls


def test_the_command_reconciles_each_linked_organisation_naming_it(fake_xero, two_sent):
    au, ours, theirs = two_sent
    fake_xero.org.pay(str(state_of(ours).xero_id))
    au.org.pay(str(state_of(theirs).xero_id))
    out = io.StringIO()
    call_command("xero_reconcile", "--since", str(timezone.now().date() - datetime.timedelta(days=1)), stdout=out)
    assert (status(ours), status(theirs)) == (Status.PAID, Status.PAID)
    printed = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in printed] == ["Fake Freight NZ Ltd", au.connection.tenant_name]


def test_the_receivers_health_shows_each_organisations_reconciliation(fake_xero, two_sent):
    au, _, theirs = two_sent
    au.org.pay(str(state_of(theirs).xero_id))
    reconciliation.reconciliation_run(connection=au.connection)
    health = inbox.receiver_health()
    assert [link["organisation"] for link in health["links"]] == ["Fake Freight NZ Ltd", au.connection.tenant_name]
    assert health["reconciliation"] is None  # the default company's organisation: not reconciled yet
    html = render_to_string("xero/receiver_health.html", {"health": health})
    assert f"Last reconciliation of {au.connection.tenant_name} ({au.company})" in html
    assert "1 documents read back, 1 changed" in html and "not yet" in html


def test_with_one_company_the_health_reads_as_before(fake_xero, codes):
    html = render_to_string("xero/receiver_health.html", {"health": inbox.receiver_health()})
    assert "<dt>Last reconciliation</dt>" in html and "not yet" in html


# --- Over HTTP, against the sandbox ----------------------------------------------------------------

RECEIVER = "/integrations/xero/webhooks/"


@pytest.fixture
def uk_company(db):
    Company.objects.default()  # made first: the default company is the oldest one
    return CompanyFactory(name="Cocoon Freight UK Ltd", country="GB", base_currency="GBP")


@pytest.fixture
def both_linked(sandbox, admin_client, live_server, settings, uk_company):
    """The default company books the NZ organisation, the UK company the UK one; webhooks reach the receiver."""
    link(admin_client, sandbox["NZ"])
    link(admin_client, sandbox["GB"], company=uk_company)
    App.objects.filter(client_id=settings.XERO_CLIENT_ID).update(webhook_url=f"{live_server.url}{RECEIVER}")
    return sandbox


def sent_by_both(codes, uk_company) -> tuple[Invoice, Invoice]:
    ours = issued(codes, account=BillingAccountFactory(code="ACME01", name="Acme Imports Ltd"))
    vat = TaxRateFactory(company=uk_company, name="VAT 20%", rate=Decimal("20"), accounting_code="OUTPUT2")
    account = BillingAccountFactory(code="THAMES01", name="Thames Wholesale plc", currency="GBP")
    theirs = issued(codes, account=account, tax=vat, company=uk_company)
    push_all()
    assert SyncRecord.objects.filter(state="sent").count() == 2
    return ours, theirs


def in_xero(invoice: Invoice) -> Document:
    return Document.objects.get(document_id=state_of(invoice).xero_id)


def delivered_and_processed() -> inbox.Round:
    assert all(delivery.last_status_code == 200 for delivery in sandbox_webhooks.deliver_due())
    return inbox.webhook_events_process()


def test_a_payment_in_each_organisation_comes_back_to_its_own_companys_document(both_linked, codes, uk_company):
    ours, theirs = sent_by_both(codes, uk_company)
    assert in_xero(theirs).organisation == both_linked["GB"] and theirs.number.startswith(uk_company.invoice_prefix)
    delivered_and_processed()  # the creations' events: nothing to change

    books.document_pay(document=in_xero(theirs), amount=Decimal("300.00"))  # 250.00 + 20 % VAT, paid in the UK
    round_ = delivered_and_processed()
    assert (round_.applied, round_.changed) == (1, 1)
    assert (status(ours), status(theirs)) == (Status.ISSUED, Status.PAID)

    App.objects.update(webhook_url="http://127.0.0.1:9/integrations/xero/webhooks/")  # webhooks missed now
    books.document_pay(document=in_xero(ours), amount=Decimal("287.50"))
    rows = reconciliation.reconciliation_run_periodic()
    assert sorted(str(row.tenant_id) for row in rows) == sorted(str(both_linked[c].tenant_id) for c in ("NZ", "GB"))
    assert (status(ours), status(theirs)) == (Status.PAID, Status.PAID)


def test_an_event_of_an_organisation_no_company_books_is_ignored(sandbox, admin_client, live_server, settings):
    link(admin_client, sandbox["NZ"])
    App.objects.filter(client_id=settings.XERO_CLIENT_ID).update(webhook_url=f"{live_server.url}{RECEIVER}")
    granted = Connection.objects.get(organisation=sandbox["NZ"])
    # Xero still announces the UK organisation's changes to the app (granted once), but no company books it.
    Connection.objects.create(id=uuid.uuid4(), app=granted.app, grant=granted.grant, organisation=sandbox["GB"])
    typed = books.outside_document_create(
        sandbox["GB"], type=Document.INVOICE, number="UK-HAND-1", contact_name="Thames Wholesale plc", total=50
    )
    books.document_pay(document=typed, amount=Decimal("50.00"))  # an UPDATE: one the platform follows
    round_ = delivered_and_processed()
    assert (round_.claimed, round_.applied, round_.ignored) == (1, 0, 1)
    event = WebhookEvent.objects.get(tenant_id=sandbox["GB"].tenant_id, event_type="UPDATE")
    assert (event.state, event.outcome) == (WebhookEvent.State.IGNORED, inbox.NOT_LINKED)
