"""Several companies, each linked to its own Xero organisation: each company's documents go to its own
organisation, under its own numbers and codes, a batch holding one company's; a company without an
active link keeps its documents waiting while the others' are sent; an idle round costs the same however
many organisations are linked. First on the in-memory Xero, then over HTTP against the sandbox."""

from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from billing.models import Company, Invoice, RateCompanyCode
from billing.tests.factories import BillingAccountFactory, CompanyFactory, TaxRateFactory
from integrations.xero.conftest import issued, link, state_of
from integrations.xero.inbound import inbox
from integrations.xero.models import SyncRecord, XeroConnection
from integrations.xero.outbound import panels, sending, sync_exceptions
from integrations.xero.outbound.tests.companies import au_company, issued_by
from xero_sandbox.models import Document


def rounds() -> list[int]:
    """Push until nothing is left; what each round handled."""
    handled = []
    while count := sending.sync_round_push():
        handled.append(count)
    return handled


def numbers(org) -> list[str]:
    return sorted(document.number for document in org.documents.values())


# --- On the in-memory Xero -------------------------------------------------------------------------


def test_each_companys_documents_reach_its_own_organisation_in_batches_of_one_company(fake_xero, codes):
    au = au_company()
    ours = [issued(codes), issued(codes)]
    theirs = [issued_by(au, codes), issued_by(au, codes)]
    assert rounds() == [2, 2]  # the oldest due document's company first
    assert numbers(fake_xero.org) == sorted(d.number for d in ours)
    assert numbers(au.org) == sorted(d.number for d in theirs)
    assert all(d.number.startswith(f"{au.company.invoice_prefix}-") for d in theirs)
    assert {state_of(d).tenant_id for d in theirs} == {au.connection.tenant_id}
    assert state_of(theirs[0]).xero_total == Decimal("275.00")  # 250.00 + the AU organisation's 10 % GST
    assert (fake_xero.org.calls.count("create_documents"), au.org.calls.count("create_documents")) == (1, 1)


def test_a_company_without_a_link_keeps_its_documents_waiting_while_the_others_are_sent(fake_xero, codes):
    unlinked = au_company(linked=False)
    waiting = issued_by(unlinked, codes)  # the oldest, yet not taken
    sent = issued(codes)
    assert rounds() == [1]
    record = state_of(waiting)
    assert (record.state, record.attempts, record.error) == ("waiting", 0, "")
    assert state_of(sent).state == "sent"


def test_a_company_whose_link_needs_re_linking_waits_and_is_sent_once_linked_again(fake_xero, codes):
    au = au_company(status=XeroConnection.Status.NEEDS_RELINK)
    waiting = issued_by(au, codes)
    sent = issued(codes)
    assert rounds() == [1] and state_of(sent).state == "sent"
    assert state_of(waiting).state == "waiting" and au.org.calls == []
    XeroConnection.objects.filter(pk=au.connection.pk).update(status=XeroConnection.Status.ACTIVE)
    assert rounds() == [1]
    assert numbers(au.org) == [waiting.number]


def test_a_batch_resolves_only_its_own_companys_waiting_customers(fake_xero, codes):
    au = au_company()
    ours = issued(codes)
    theirs = issued_by(au, codes)
    sending.sync_round_push()  # our batch: its lookup may take in other waiting customers, only ours
    assert [c.account_number for c in fake_xero.org.contacts.values()] == [ours.billing_account.code]
    sending.sync_round_push()
    assert [c.account_number for c in au.org.contacts.values()] == [theirs.billing_account.code]


def test_credit_notes_are_allocated_in_each_companys_organisation(fake_xero, codes):
    au = au_company()
    our_account, their_account = BillingAccountFactory(), BillingAccountFactory(currency="AUD")
    our_invoice = issued(codes, account=our_account)
    their_invoice = issued_by(au, codes, account=their_account)
    rounds()
    credit = Invoice.Kind.CREDIT_NOTE
    our_note = issued(codes, account=our_account, kind=credit, credited_invoice=our_invoice)
    their_note = issued_by(au, codes, account=their_account, kind=credit, credited_invoice=their_invoice)
    assert rounds() == [1, 1, 2]  # each company's credit note, then both allocations in one round
    assert state_of(our_note).allocated_amount == Decimal("287.50")
    assert state_of(their_note).allocated_amount == Decimal("275.00")
    assert their_note.number.startswith(f"{au.company.credit_note_prefix}-")
    assert (fake_xero.org.calls.count("allocate_credit_note"), au.org.calls.count("allocate_credit_note")) == (1, 1)


def test_an_idle_round_costs_the_same_however_many_organisations_are_linked(fake_xero, codes):
    issued(codes)
    rounds()

    def idle_round() -> int:
        with CaptureQueriesContext(db) as queries:
            assert sending.sync_round_push() == 0
            assert inbox.webhook_events_process().claimed == 0
        return len(queries)

    one = idle_round()
    for _ in range(19):
        issued_by(au_company(), codes)
    rounds()
    assert XeroConnection.objects.active().count() == 20
    assert idle_round() == one


def test_a_number_clash_is_linked_in_the_documents_own_organisation(fake_xero, codes):
    au = au_company()
    invoice = issued_by(au, codes)
    SyncRecord.objects.filter(invoice=invoice).update(
        state=SyncRecord.State.FAILED, clash_xero_id="8a7c9d1e-0000-4000-8000-000000000001"
    )
    assert sync_exceptions.sync_exception_link_clash(record=state_of(invoice))
    assert state_of(invoice).tenant_id == au.connection.tenant_id


def test_the_issue_confirmation_names_the_issuing_companys_organisation(fake_xero, codes):
    au = au_company()
    invoice = issued_by(au, codes)
    assert f"sends it to {au.connection.tenant_name} in Xero" in panels.xero_destination(invoice)
    assert "sends it to Fake Freight NZ Ltd in Xero" in panels.xero_destination(issued(codes))


# --- Over HTTP, against the sandbox's NZ and UK organisations ----------------------------------------


@pytest.fixture
def uk_company(db):
    """A second company, trading in GBP, with a tax rate the UK organisation accepts (RROUTPUT, 5 %) and its
    own revenue account for the sea freight rate (260 in its chart, where the NZ company posts to 200)."""
    Company.objects.default()  # made first: the default company is the oldest one
    return CompanyFactory(name="Cocoon Freight UK Ltd", country="GB", base_currency="GBP")


def uk_issued(company: Company, codes) -> Invoice:
    tax = TaxRateFactory(company=company, name="VAT 5%", rate=Decimal("5"), accounting_code="RROUTPUT")
    RateCompanyCode.objects.get_or_create(rate=codes["rate"], company=company, revenue_account_code="260")
    account = BillingAccountFactory(code="THAMES01", name="Thames Wholesale plc", currency="GBP")
    return issued(codes, account=account, tax=tax, company=company)


def in_xero(invoice: Invoice) -> Document:
    return Document.objects.select_related("organisation").get(document_id=state_of(invoice).xero_id)


def test_two_companies_documents_land_in_their_own_organisations_with_their_own_numbers_and_codes(
    sandbox, admin_client, codes, uk_company
):
    link(admin_client, sandbox["NZ"])
    link(admin_client, sandbox["GB"], company=uk_company)
    assert XeroConnection.objects.get(company=uk_company).tenant_id == sandbox["GB"].tenant_id
    ours = issued(codes, account=BillingAccountFactory(code="ACME01", name="Acme Imports Ltd"))
    theirs = uk_issued(uk_company, codes)
    assert rounds() == [1, 1]

    nz, uk = in_xero(ours), in_xero(theirs)
    assert (nz.organisation, nz.number, nz.total) == (sandbox["NZ"], ours.number, Decimal("287.50"))
    assert (uk.organisation, uk.number, uk.total) == (sandbox["GB"], theirs.number, Decimal("262.50"))
    assert theirs.number.startswith(f"{uk_company.invoice_prefix}-") and uk.contact.account_number == "THAMES01"
    assert [(line.account_code, line.tax_type) for line in nz.lines.all()] == [("200", "OUTPUT2")]
    assert [(line.account_code, line.tax_type) for line in uk.lines.all()] == [("260", "RROUTPUT")]
    assert not Document.objects.filter(organisation=sandbox["NZ"], number=theirs.number).exists()


def test_a_company_not_linked_yet_waits_while_the_other_is_sent_and_is_sent_once_linked(
    sandbox, admin_client, codes, uk_company
):
    link(admin_client, sandbox["NZ"])
    waiting = uk_issued(uk_company, codes)
    sent = issued(codes)
    assert rounds() == [1]
    assert (state_of(sent).state, state_of(waiting).state, state_of(waiting).attempts) == ("sent", "waiting", 0)
    assert not Document.objects.filter(number=waiting.number).exists()

    link(admin_client, sandbox["GB"], company=uk_company)
    assert rounds() == [1]
    assert in_xero(waiting).organisation == sandbox["GB"]
