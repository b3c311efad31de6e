"""The Sync exceptions page: failed documents, acknowledging, retrying, and the navigation's count."""

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import Invoice
from billing.tests.factories import BillingAccountFactory, RateFactory, TaxRateFactory, draft_with_lines, line
from integrations.context_processors import xero_sync_exceptions
from integrations.xero.api import values
from integrations.xero.conftest import link, make_admin
from integrations.xero.models import SyncRecord
from integrations.xero.outbound import sending, sync_exceptions

PAGE = "/integrations/xero/exceptions/"
NOW = timezone.now()


@pytest.fixture
def manager(client, db):
    client.force_login(make_admin("manager"))
    return client


@pytest.fixture
def viewer(client, db):
    """A billing clerk: may see invoices, not manage the Xero add-on."""
    user = make_admin("viewer", can_manage=False)
    user.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    client.force_login(user)
    return client


def failed(
    error="Xero refused it: Account code '250' is not a valid code.",
    *,
    kind=Invoice.Kind.INVOICE,
    account=None,
    attempts=2,
    last_failed_at=None,
    **fields,
) -> SyncRecord:
    """An issued document whose sync failed (the add-on is off in these tests, so the row is made here)."""
    last_failed_at = last_failed_at or NOW - datetime.timedelta(minutes=5)
    draft = draft_with_lines(line(), billing_account=account or BillingAccountFactory(), kind=kind)
    return SyncRecord.objects.create(
        invoice=services.invoice_issue(invoice=draft),
        state=SyncRecord.State.FAILED,
        error=error,
        attempts=attempts,
        first_failed_at=last_failed_at - datetime.timedelta(days=1),
        last_failed_at=last_failed_at,
        **fields,
    )


def listed(client, query="") -> str:
    answer = client.get(PAGE + query)
    assert answer.status_code == 200
    return answer.content.decode()


def rows(page: str) -> int:
    return page.count('data-testid="sync-exception"')


def acknowledge_url(record) -> str:
    return reverse("xero:sync_exception_acknowledge", args=[record.pk])


def retry_url(record) -> str:
    return reverse("xero:retry", args=[record.pk])


def csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


# --- What the page shows ----------------------------------------------------------------------
def test_the_page_lists_a_failed_document_with_its_account_type_message_and_counts(manager):
    acme = BillingAccountFactory(code="ACME01", name="Acme Imports Ltd")
    record = failed(
        "Xero refused it: The TaxType code 'INPUT2' cannot be used with account code '200'.",
        account=acme,
        attempts=3,
        last_failed_at=datetime.datetime(2025, 3, 14, 9, 30, tzinfo=datetime.UTC),
    )
    page = listed(manager)
    assert rows(page) == 1
    assert f'<a href="{record.invoice.get_absolute_url()}">{record.invoice.number}</a>' in page
    assert "Acme Imports Ltd <code>ACME01</code>" in page
    assert "<td>Invoice</td>" in page
    assert "The TaxType code &#x27;INPUT2&#x27; cannot be used with account code &#x27;200&#x27;." in page
    assert '<td class="num">3</td>' in page
    assert 'datetime="2025-03-13T' in page and 'datetime="2025-03-14T' in page  # first and last seen
    assert 'data-testid="count-unacknowledged">1<' in page and 'data-testid="count-all">1<' in page


def test_a_credit_note_held_back_by_the_pre_send_check_is_listed_with_that_check_s_message(manager):
    failed(
        "Not sent: The rate “Old sales” (Rates › Old sales) has revenue account code 250, which is archived in Xero.",
        kind=Invoice.Kind.CREDIT_NOTE,
    )
    page = listed(manager)
    assert "<td>Credit note</td>" in page
    assert "Not sent: The rate “Old sales” (Rates › Old sales) has revenue account code 250" in page


def test_only_failed_documents_are_listed_newest_failure_first(manager):
    older = failed(last_failed_at=NOW - datetime.timedelta(hours=3))
    newer = failed(last_failed_at=NOW - datetime.timedelta(minutes=1))
    sent = failed()
    SyncRecord.objects.filter(pk=sent.pk).update(state=SyncRecord.State.SENT, error="")
    page = listed(manager)
    assert rows(page) == 2 and sent.invoice.number not in page
    assert page.index(newer.invoice.number) < page.index(older.invoice.number)


def test_the_page_costs_the_same_queries_for_one_failure_or_many(manager):
    failed()
    with CaptureQueriesContext(connection) as one:
        listed(manager)
    for _ in range(4):
        failed(account=BillingAccountFactory())
    with CaptureQueriesContext(connection) as five:
        assert rows(listed(manager)) == 5
    assert len(five) == len(one)


def test_an_empty_page_says_nothing_is_failing_and_what_the_page_is_for(manager):
    page = listed(manager)
    assert rows(page) == 0
    assert "Nothing is failing" in page and "fix the cause and send it again" in page


def test_when_every_failure_is_acknowledged_the_default_view_points_to_all_of_them(manager):
    failed(acknowledged_at=NOW)
    page = listed(manager)
    assert (
        rows(page) == 0
        and "Every failure has been acknowledged." in page
        and "1 document still waits for a fix" in page
    )
    assert rows(listed(manager, "?show=all")) == 1


# --- Acknowledging ----------------------------------------------------------------------------
def test_acknowledging_records_who_and_when_and_hides_it_from_the_default_view(manager):
    record = failed()
    answer = manager.post(acknowledge_url(record), follow=True)
    assert answer.redirect_chain == [(PAGE, 302)]
    assert f"Acknowledged the failure of {record.invoice.number}" in answer.content.decode()
    record.refresh_from_db()
    assert record.acknowledged_by.get_username() == "manager"
    assert timezone.now() - record.acknowledged_at < datetime.timedelta(seconds=10)
    assert rows(listed(manager)) == 0
    everything = listed(manager, "?show=all")
    assert rows(everything) == 1 and "manager," in everything and acknowledge_url(record) not in everything


def test_acknowledging_from_all_failures_goes_back_to_all_failures(manager):
    record = failed()
    answer = manager.post(acknowledge_url(record), {"show": "all"})
    assert answer.url == PAGE + "?show=all"


def test_acknowledging_a_document_that_is_no_longer_failing_changes_nothing(manager):
    record = failed()
    sync_exceptions.sync_record_retry(record=record)
    answer = manager.post(acknowledge_url(record), follow=True)
    assert "is no longer failing (waiting); nothing to acknowledge" in answer.content.decode()
    record.refresh_from_db()
    assert record.acknowledged_at is None


def test_acknowledging_twice_says_who_did_it_first(manager):
    record = failed()
    manager.post(acknowledge_url(record))
    answer = manager.post(acknowledge_url(record), follow=True)
    assert "was already acknowledged by manager" in answer.content.decode()


# --- Retrying and resolving -------------------------------------------------------------------
def test_retry_from_the_page_puts_the_document_back_to_waiting_and_off_the_page(manager):
    record = failed()
    page = listed(manager)
    assert f'action="{retry_url(record)}"' in page  # the page's Retry posts to the shared retry view
    answer = manager.post(retry_url(record))
    assert answer.status_code == 302
    record.refresh_from_db()
    assert (record.state, record.error) == ("waiting", "")
    assert rows(listed(manager, "?show=all")) == 0


def test_a_later_success_resolves_the_exception_by_itself(manager):
    record = failed(acknowledged_at=NOW)
    answer = values.DocumentIn(
        number=record.invoice.number, xero_id=str(uuid.uuid4()), status="AUTHORISED", total=record.invoice.total
    )
    sending._succeed(record, answer, tenant_id=str(uuid.uuid4()))
    record.refresh_from_db()
    assert (record.first_failed_at, record.last_failed_at, record.acknowledged_at) == (None, None, None)
    assert rows(listed(manager, "?show=all")) == 0


def test_a_bad_code_fails_in_the_sandbox_then_is_fixed_retried_and_leaves_the_page(sandbox, admin_client):
    link(admin_client, sandbox["NZ"])
    old_sales = RateFactory(label="Old sales", revenue_account_code="OLD|250")  # archived in the NZ org
    gst = TaxRateFactory(name="GST", rate=Decimal("15"), accounting_code="OUTPUT2")
    draft = draft_with_lines(line(rate=old_sales, tax_rate=gst), billing_account=BillingAccountFactory(code="ACME01"))
    invoice = services.invoice_issue(invoice=draft)
    sending.sync_round_push()
    page = listed(admin_client)
    assert rows(page) == 1 and "has revenue account code 250" in page and invoice.number in page
    record = SyncRecord.objects.get(invoice=invoice)
    admin_client.post(acknowledge_url(record))

    old_sales.revenue_account_code = "OLD|260"
    old_sales.save()
    assert admin_client.post(retry_url(record)).status_code == 302
    sending.sync_round_push()
    record.refresh_from_db()
    assert (record.state, record.acknowledged_at) == ("sent", None)
    assert rows(listed(admin_client, "?show=all")) == 0


# --- Who may act ------------------------------------------------------------------------------
def test_staff_without_the_permission_see_the_page_but_cannot_act(viewer):
    record = failed()
    page = listed(viewer)
    assert rows(page) == 1 and "Only administrators" in page
    assert acknowledge_url(record) not in page and retry_url(record) not in page
    assert viewer.post(acknowledge_url(record)).status_code == 403
    assert viewer.post(retry_url(record)).status_code == 403
    record.refresh_from_db()
    assert (record.state, record.acknowledged_at) == ("failed", None)


def test_staff_without_a_billing_or_add_on_permission_see_no_sync_data_anywhere(client, db, settings):
    record = failed()
    settings.XERO_ENABLED = True
    client.force_login(make_admin("porter", can_manage=False))
    assert client.get(PAGE).status_code == 403
    addons_page = client.get("/addons/").content.decode()
    assert PAGE not in addons_page and 'data-testid="sync-exception-count"' not in addons_page
    assert 'data-testid="xero-not-allowed"' in addons_page
    assert record.invoice.billing_account.name not in addons_page


def test_people_who_are_not_staff_cannot_see_the_page(client, django_user_model, db):
    assert client.get(PAGE).status_code == 302  # to the login page
    client.force_login(django_user_model.objects.create_user("customer", password="pw"))
    assert client.get(PAGE).status_code == 403


def test_acknowledging_needs_a_post_with_a_csrf_token(db):
    record = failed()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_admin("manager"))
    assert browser.get(acknowledge_url(record)).status_code == 405
    assert browser.post(acknowledge_url(record)).status_code == 403
    assert browser.post(retry_url(record)).status_code == 403
    record.refresh_from_db()
    assert (record.state, record.acknowledged_at) == ("failed", None)

    token = csrf_token(browser.get(PAGE).content.decode())
    assert browser.post(acknowledge_url(record), {"csrfmiddlewaretoken": token}).status_code == 302
    record.refresh_from_db()
    assert record.acknowledged_at is not None


# --- The navigation ---------------------------------------------------------------------------
def test_the_navigation_links_the_page_with_the_count_of_unacknowledged_failures(manager):
    failed()
    failed()
    failed(acknowledged_at=NOW)
    page = manager.get("/addons/").content.decode()
    assert f'href="{PAGE}"' in page and "Sync exceptions" in page
    assert re.search(r'data-testid="sync-exception-count"[^>]*>2</span>', page)
    assert f'href="{PAGE}" class="active"' in listed(manager)
    assert 'href="/addons/" class="active"' not in listed(manager)


def test_the_navigation_shows_no_count_when_nothing_waits_for_attention(manager):
    failed(acknowledged_at=NOW)
    page = manager.get("/addons/").content.decode()
    assert "Sync exceptions" in page and "sync-exception-count" not in page


def test_the_navigation_count_costs_one_query_and_only_when_shown(db, django_assert_num_queries):
    failed()
    request = RequestFactory().get("/")
    request.user = make_admin()
    request.user.get_all_permissions()  # read once per request, for the menu as for every {% if perms %}
    with django_assert_num_queries(0):
        count = xero_sync_exceptions(request)["xero_sync_exception_count"]
    with django_assert_num_queries(1):
        assert bool(count) and str(count) == "1" and str(count) == "1"


def test_signed_out_pages_do_not_count_failures(client, db):
    failed()
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/login/").content.decode()
    assert "Sync exceptions" not in page
    assert not [q for q in queries if "xero_syncrecord" in q["sql"]]


def test_retry_from_the_list_comes_back_to_the_list_and_never_to_another_site(manager):
    record = failed()
    answer = manager.post(retry_url(record), {"next": "/integrations/xero/exceptions/"})
    assert answer.url == "/integrations/xero/exceptions/"
    record.refresh_from_db()
    record.state = "failed"
    record.save()
    answer = manager.post(retry_url(record), {"next": "https://elsewhere.example/"})
    assert answer.url == record.invoice.get_absolute_url()
