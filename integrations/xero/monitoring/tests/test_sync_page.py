"""The sync page: a company's documents, times, sync exceptions and calls, drawn from the platform's records
after a real sync with the sandbox over HTTP."""

import datetime

from django.utils import timezone

from billing.models import Company, Invoice
from billing.tests.factories import CompanyFactory, TaxRateFactory
from integrations.xero.conftest import fault_once, issued, linked_org, make_admin, state_of
from integrations.xero.models import CallMinute, SyncRecord, Tally
from integrations.xero.monitoring import figures, tallies
from integrations.xero.outbound import sending
from integrations.xero.tests.factories import WebhookEventFactory
from xero_sandbox.models import Fault, RequestLog

PAGE = "/integrations/xero/sync/"


def test_the_page_shows_what_the_sync_did_today_in_numbers_and_charts(synced, admin_client):
    page = admin_client.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert _text(page, "headline-issued-today") == "4"
    assert _text(page, "headline-sent-today") == "3"
    assert _text(page, "headline-exceptions") == "1"
    calls = RequestLog.objects.filter(organisation=linked_org(synced), path__contains="/api.xro/").count()
    assert calls > 0
    assert _text(page, "headline-calls") == f"{calls} of 5,000"
    today = page.context["charts"][0].rows[-1]
    assert today == [f"{timezone.localdate():%-d %b}", "4", "3"]  # issued, sent to Xero
    assert "Held back: codes to fix" in html
    for key in ("documents", "to-xero", "reasons", "day-calls", "hour-calls", "status-back"):
        assert f'data-testid="chart-{key}"' in html
        assert f'aria-labelledby="chart-{key}-title chart-{key}-summary"' in html  # the text alternative


def test_every_call_to_the_organisation_is_counted_in_its_minute_and_by_endpoint(synced):
    org = linked_org(synced)
    sandbox_calls = RequestLog.objects.filter(organisation=org, path__contains="/api.xro/")
    counted = CallMinute.objects.filter(tenant_id=synced.tenant_id)
    assert sum(counted.values_list("calls", flat=True)) == sandbox_calls.count()
    created = sandbox_calls.filter(method="PUT", path__contains="/Invoices").count()
    assert Tally.objects.get(name=tallies.CALLS, labels="endpoint=create_invoices,problem=,status=200").total == created
    sent = Tally.objects.get(name=tallies.DOCUMENTS_SENT, labels="kind=invoice").total
    failed = Tally.objects.get(name=tallies.DOCUMENTS_FAILED, labels="kind=invoice").total
    assert (sent, failed) == (3, 1)


def test_a_call_xero_refuses_for_a_limit_is_counted_with_its_problem(synced, codes):
    fault_once(synced, Fault.Kind.RATE_LIMIT, method="PUT", path="/Invoices")
    issued(codes)
    sending.sync_round_push()
    refused = Tally.objects.filter(name=tallies.CALLS, labels__contains="status=429").values_list("labels", "total")
    assert [(tallies.labels_of(labels)["endpoint"], total) for labels, total in refused] == [("create_invoices", 1)]
    assert CallMinute.objects.filter(tenant_id=synced.tenant_id, rate_limited=1).count() == 1


def test_times_are_the_median_and_p95_of_each_days_documents(fake_xero, codes):
    now = timezone.now()
    for seconds in (10, 20, 30, 40):
        record = state_of(issued(codes))
        Invoice.objects.filter(pk=record.invoice_id).update(issued_at=now - datetime.timedelta(seconds=seconds))
        SyncRecord.objects.filter(pk=record.pk).update(state="sent", sent_at=now, tenant_id=fake_xero.tenant_id)
    today = figures.sync_page_figures(Company.objects.default(), now=now)["days"][-1]
    assert (today.sent, today.to_xero_median, round(today.to_xero_p95, 3)) == (4, 25.0, 38.5)


def test_status_times_run_from_xeros_event_to_the_status_applied(fake_xero):
    connection = fake_xero.connection
    now = timezone.now()
    for seconds in (2, 4, 6):
        WebhookEventFactory(
            tenant_id=connection.tenant_id,
            state="applied",
            event_date=now - datetime.timedelta(seconds=seconds),
            processed_at=now,
        )
    WebhookEventFactory(tenant_id=connection.tenant_id, state="pending", event_date=now - datetime.timedelta(hours=1))
    today = figures.sync_page_figures(Company.objects.default(), now=now)["days"][-1]
    assert (today.status_median, round(today.status_p95, 3)) == (4.0, 5.8)


def test_with_several_companies_the_page_is_about_the_company_chosen(synced, admin_client, codes):
    other = CompanyFactory(name="Cocoon Freight AU Pty Ltd")
    issued(codes, company=other, tax=TaxRateFactory(company=other, accounting_code="OUTPUT"))
    page = admin_client.get(PAGE, {"company": other.pk})
    assert page.context["company"] == other
    assert _text(page, "headline-issued-today") == "1"
    assert _text(page, "headline-sent-today") == "0"
    assert "Cocoon Freight AU Pty Ltd" in page.content.decode()
    assert admin_client.get(PAGE, {"company": "x"}).status_code == 404


def test_the_page_needs_the_permission_to_see_the_sync(client, db):
    client.force_login(make_admin("clerk", can_manage=False))
    assert client.get(PAGE).status_code == 403


def test_reasons_group_open_sync_exceptions_by_what_to_do_about_them(fake_xero, codes):
    errors = ["Not sent: code", "Not sent: other code", "Xero refused it: bad", "Xero says the Account Number X ..."]
    for error in errors:
        SyncRecord.objects.filter(pk=state_of(issued(codes)).pk).update(state="failed", error=error)
    rows = figures.exception_reasons(Company.objects.default())
    assert [(row["reason"], row["count"]) for row in rows] == [
        ("Held back: codes to fix", 2),
        ("Customer's contact in Xero", 1),
        ("Refused by Xero", 1),
    ]


def _text(page, testid: str) -> str:
    html = page.content.decode()
    start = html.index(f'data-testid="{testid}"')
    inner = html[html.index(">", start) + 1 : html.index("</dd>", start)]
    return inner.split(">")[-2].split("<")[0].strip() if "<a " in inner else inner.strip()


def test_a_past_days_figures_are_read_once_and_todays_every_time(fake_xero, codes):
    now = timezone.now()
    three_days_ago = now - datetime.timedelta(days=3)

    def issue(at):
        record = state_of(issued(codes))
        Invoice.objects.filter(pk=record.invoice_id).update(issued_at=at)

    issue(three_days_ago)
    company = Company.objects.default()
    before = figures.sync_page_figures(company, now=now)["days"]
    issue(three_days_ago)  # cannot happen (an issue is dated when it is made): shows the day is not read again
    issue(now)
    after = figures.sync_page_figures(company, now=now)["days"]
    assert (before[-4].issued, after[-4].issued) == (1, 1)
    assert (before[-1].issued, after[-1].issued) == (0, 1)
