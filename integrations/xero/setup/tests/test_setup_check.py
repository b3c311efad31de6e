"""The set-up check against the sandbox's NZ organisation, over HTTP, with a mismatch of every kind."""

import io
import math
from decimal import Decimal
from urllib.parse import quote_plus, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

from billing import services
from billing.models import BillingAccount, Invoice, Rate
from billing.tests.factories import (
    BillingAccountFactory,
    InvoiceFactory,
    RateFactory,
    TaxRateFactory,
    draft_with_lines,
    line,
)
from integrations.xero.api.values import XeroContact
from integrations.xero.conftest import link, make_admin
from integrations.xero.models import XeroConnection
from integrations.xero.setup import setup_check
from xero_sandbox.models import Account, Contact, Organisation, RequestLog
from xero_sandbox.models import TaxRate as SandboxTaxRate
from xero_sandbox.page_services import contact_set_archived


@pytest.fixture
def mismatches(sandbox):
    """Billing accounts, rates and tax rates that meet the NZ books in every way the check knows."""
    nz = sandbox["NZ"]
    Contact.objects.create(organisation=nz, name="Pacific Shipping Co", account_number="PAC 02", status="ACTIVE")
    Contact.objects.create(organisation=nz, name="Tasman Freight", account_number="TASMAN9", status="ACTIVE")
    SandboxTaxRate.objects.filter(organisation=nz, tax_type="ZERORATED").update(status="ARCHIVED")
    accounts = {
        code: BillingAccountFactory(code=code, name=name)
        for code, name in [
            ("ACME01", "Acme Imports Ltd"),
            ("BLUEFIN", "Bluefin Seafoods Ltd"),
            ("KIWI-TRADERS", "Kiwi Traders"),
            ("harb-7", "Harbour Logistics Ltd"),
            ("PAC02", "Pacific Shipping"),
            ("TASMAN 9", "Tasman"),
            ("NEWCO", "New Customer Ltd"),
        ]
    }
    rates = {
        label: RateFactory(label=label, revenue_account_code=code, cost_account_code="")
        for label, code in [
            ("Sea freight", "SEA|200"),
            ("Old sales", "OLD|250"),
            ("Courier recharge", "425"),
            ("GST clearing", "820"),
            ("Future revenue", "299"),
            ("Handling", "298"),
        ]
    }
    rates["Cost only"] = RateFactory(label="Cost only", cost_account_code="310", revenue_account_code="")
    taxes = {
        name: TaxRateFactory(name=name, rate=Decimal(rate), accounting_code=code)
        for name, rate, code in [
            ("GST", "15", "OUTPUT2"),
            ("GST on imports", "15", "INPUT2"),
            ("Old GST", "12.5", "OUTPUT2"),
            ("Zero rated", "0", "ZERORATED"),
            ("Made up", "0", "MADEUP"),
        ]
    }
    services.invoice_save_draft(  # not draft_with_lines: it would add a billing account of its own
        invoice=InvoiceFactory.build(billing_account=accounts["ACME01"]),
        lines=[line(rate=rates["Handling"], tax_rate=taxes["GST"])],
    )
    return {"accounts": accounts, "rates": rates, "taxes": taxes}


@pytest.fixture
def linked(sandbox, mismatches, admin_client):
    link(admin_client, sandbox["NZ"])
    return XeroConnection.objects.get()


@pytest.fixture
def finance_client(client, transactional_db):
    """Someone who keeps rates and tax rates and raises invoices (no say over the Xero add-on)."""
    user = make_admin("finance", can_manage=False)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="billing"))
    client.force_login(user)
    return client


def lines_of(report, section) -> dict[str, setup_check.Line]:
    return {line.subject: line for line in next(s for s in report.sections if s.key == section).lines}


def statuses(report, section) -> dict[str, str]:
    return {subject: line.symbol for subject, line in lines_of(report, section).items()}


def check_page(client):
    page = client.get("/integrations/xero/setup-check/")
    assert page.status_code == 200
    return page


def test_linking_shows_the_set_up_check_right_away(sandbox, admin_client):
    answer = link(admin_client, sandbox["NZ"])
    assert answer.url == "/integrations/xero/setup-check/"
    page = check_page(admin_client).content.decode()
    assert "Set-up check" in page and "Demo Freight NZ Ltd" in page
    assert 'data-testid="xero-setup-check"' in admin_client.get("/addons/").content.decode()


def test_billing_accounts_are_matched_exactly_and_every_near_miss_says_which_contact(linked, admin_client):
    report = check_page(admin_client).context["report"]
    assert statuses(report, "billing_accounts") == {
        "Acme Imports Ltd": "✓",
        "Bluefin Seafoods Ltd": "✗",
        "Kiwi Traders": "✗",
        "Harbour Logistics Ltd": "✗",
        "Pacific Shipping": "✗",
        "Tasman": "✗",
        "New Customer Ltd": "•",
    }
    found = lines_of(report, "billing_accounts")
    assert "archived" in found["Bluefin Seafoods Ltd"].says and "Un-archive" in found["Bluefin Seafoods Ltd"].todo
    assert "Xero will refuse to create one" in found["Kiwi Traders"].says
    assert (
        "“Kiwi Traders”" in found["Kiwi Traders"].says
        and "Account Number to “KIWI-TRADERS”" in found["Kiwi Traders"].todo
    )
    for subject, number in [("Harbour Logistics Ltd", "HARB-7"), ("Pacific Shipping", "PAC 02"), ("Tasman", "TASMAN9")]:
        assert f"Account Number “{number}”" in found[subject].says and "case or spaces" in found[subject].says
    assert found["New Customer Ltd"].says.startswith("No Xero contact has this Account Number")
    assert found["Bluefin Seafoods Ltd"].fix_url == linked_account_url("BLUEFIN")


def linked_account_url(code):
    return BillingAccount.objects.get(code=code).get_absolute_url()


def test_rates_say_what_is_wrong_with_their_revenue_code_those_on_drafts_first(linked, admin_client):
    report = check_page(admin_client).context["report"]
    rates = lines_of(report, "rates")
    assert statuses(report, "rates") == {
        "Handling": "✗",
        "Sea freight": "✓",
        "Old sales": "✗",
        "Courier recharge": "✗",
        "GST clearing": "✗",
        "Future revenue": "⚠",
        "Cost only": "•",
    }
    assert next(s for s in report.sections if s.key == "rates").lines[0].subject == "Handling"  # on a draft
    assert "is archived" in rates["Old sales"].says
    assert "is an expense account" in rates["Courier recharge"].says
    assert "system account" in rates["GST clearing"].says
    assert "not in Xero's chart of accounts" in rates["Future revenue"].says
    assert "will not sync" in rates["Handling"].says and rates["Handling"].used == 1


def test_tax_rates_must_exist_apply_to_sales_be_active_and_agree_on_the_percentage(linked, admin_client):
    report = check_page(admin_client).context["report"]
    assert statuses(report, "tax_rates") == {
        "GST": "✓",
        "GST on imports": "✗",
        "Old GST": "⚠",
        "Zero rated": "✗",
        "Made up": "⚠",
    }
    taxes = lines_of(report, "tax_rates")
    assert "cannot be used on sales" in taxes["GST on imports"].says
    assert "not active" in taxes["Zero rated"].says
    assert "is 15%, not 12.5%" in taxes["Old GST"].says


def test_currencies_the_organisation_has_not_enabled_are_named_with_those_it_has(linked, admin_client):
    BillingAccountFactory(currency="NZD"), BillingAccountFactory(currency="AUD"), BillingAccountFactory(currency="GBP")
    assert linked.currencies == ["NZD", "AUD", "USD"]  # read with the chart of accounts when linking
    report = check_page(admin_client).context["report"]
    currencies = {line.code: line for line in lines_of(report, "currencies").values()}
    assert {code: line.symbol for code, line in currencies.items() if code in ("NZD", "AUD", "GBP")} == {
        "NZD": "✓",
        "AUD": "✓",
        "GBP": "✗",
    }
    assert "which has NZD, AUD" in currencies["GBP"].says and "Settings › Currencies" in currencies["GBP"].todo


def test_the_page_shows_counts_each_line_with_what_to_do_and_a_link_to_fix_it(
    linked, admin_client, mismatches, settings
):
    page = check_page(admin_client).content.decode()
    assert "✗ 11</strong> to fix before syncing" in page
    assert "⚠ 3</strong> warnings" in page
    assert f'href="/rates/{mismatches["rates"]["Old sales"].pk}/"' in page
    assert f'href="/settings/tax/{mismatches["taxes"]["Old GST"].pk}/"' in page
    assert f"{settings.XERO_WEB_URL}/Contacts/View/" in page
    assert 'action="/integrations/xero/setup-check/recheck/"' in page and "csrfmiddlewaretoken" in page


def test_the_check_needs_the_manage_permission(linked, client):
    client.force_login(make_admin("clerk", can_manage=False))
    assert client.get("/integrations/xero/setup-check/").status_code == 403
    assert client.post("/integrations/xero/setup-check/recheck/").status_code == 403


def test_a_fix_in_xero_or_in_the_app_clears_its_line_on_recheck(linked, admin_client, sandbox, mismatches):
    Account.objects.filter(organisation=sandbox["NZ"], code="250").update(status="ACTIVE")
    contact_set_archived(contact=Contact.objects.get(account_number="BLUEFIN"), archived=False)
    harbour = mismatches["accounts"]["harb-7"]
    harbour.code = "HARB-7"
    harbour.save()
    before = check_page(admin_client).context["report"]
    assert statuses(before, "rates")["Old sales"] == "✗"  # the chart of accounts read at link time
    assert statuses(before, "billing_accounts")["Bluefin Seafoods Ltd"] == "✓"  # contacts are read on every check
    assert statuses(before, "billing_accounts")["Harbour Logistics Ltd"] == "✓"
    answer = admin_client.post("/integrations/xero/setup-check/recheck/")
    assert answer.url == "/integrations/xero/setup-check/"
    assert statuses(check_page(admin_client).context["report"], "rates")["Old sales"] == "✓"


def test_contact_lookups_take_as_few_calls_as_the_length_budget_allows(linked, admin_client, settings):
    BillingAccount.objects.bulk_create(
        BillingAccount(code=f"BULK{n:03}", name=f"Bulk Customer {n}", currency="NZD") for n in range(113)
    )
    assert BillingAccount.objects.count() == 120
    RequestLog.objects.all().delete()
    report = setup_check.setup_check_run(connection=linked, refresh=True)
    lookups = list(RequestLog.objects.filter(path__icontains="/contacts"))
    # Each code and each name is a `Field=="…"` term of the where, joined by " OR ", URL-encoded.
    terms = [f'AccountNumber=="{a.code}"' for a in BillingAccount.objects.all()] + [
        f'Name=="{a.name}"' for a in BillingAccount.objects.all()
    ]
    encoded = sum(len(quote_plus(term)) + len(quote_plus(" OR ")) for term in terms)
    room = settings.XERO_REQUEST_BUDGET - len(urlsplit(lookups[0].path).path) - len("?where=&includeArchived=true")
    assert len(lookups) <= math.ceil(encoded / room) + 1
    assert max(r.target_length for r in lookups) <= settings.XERO_REQUEST_BUDGET
    # The chart of accounts, tax rates, currencies, tracking categories and branding themes; the numbers check.
    assert RequestLog.objects.count() == len(lookups) + 5 + 2
    assert statuses(report, "billing_accounts")["Bulk Customer 7"] == "•"
    assert statuses(report, "billing_accounts")["Pacific Shipping"] == "✗"  # found through the spaced numbers


def test_the_command_prints_the_report_and_exits_non_zero_on_blocking_problems(linked, capsys):
    with pytest.raises(CommandError) as failed:
        call_command("xero_setup_check")
    output = capsys.readouterr().out
    assert failed.value.returncode == 1 and "11 blocking problems" in str(failed.value)
    assert "✗ 11 to fix before syncing" in output
    assert "✗ Bluefin Seafoods Ltd (BLUEFIN)" in output and "→ Un-archive “Bluefin Seafoods Ltd” in Xero" in output
    assert "✓ Sea freight (SEA|200)" in output and "⚠ Old GST (OUTPUT2)" in output


def test_the_command_exits_zero_when_nothing_blocks(sandbox, admin_client, capsys):
    link(admin_client, sandbox["NZ"])
    BillingAccountFactory(code="ACME01", name="Acme Imports Ltd")
    RateFactory(label="Sea freight", revenue_account_code="SEA|200")
    TaxRateFactory(name="GST", rate=Decimal("15"), accounting_code="OUTPUT2")
    call_command("xero_setup_check", "--cached")
    assert "✗ 0 to fix before syncing" in capsys.readouterr().out


def test_the_command_says_when_xero_is_not_linked(db):
    with pytest.raises(CommandError, match="Xero is not linked") as failed:
        call_command("xero_setup_check")
    assert failed.value.returncode == 2


def test_a_billing_account_code_longer_than_xero_allows_is_blocking():
    account = BillingAccount(pk=1, code="X" * 51, name="Long Code Ltd")
    account.used = 0
    found = setup_check._billing_account_line(account, [XeroContact("id", "Long Code Ltd", "", "ACTIVE")])
    assert found.status == setup_check.BLOCKING and "51 characters" in found.says


# --- help at the point of entry -----------------------------------------------------------------
def test_the_rate_form_offers_xeros_revenue_accounts_and_warns_on_a_code_it_would_reject(linked, finance_client):
    form = finance_client.get("/rates/new/").content.decode()
    assert 'list="revenue_account_code-choices"' in form
    assert (
        '<option value="200">200 — Sales</option>' in form and 'value="250"' not in form and 'value="425"' not in form
    )
    saved = finance_client.post(
        "/rates/new/", {"label": "Storage", "category": "other", "revenue_account_code": "ST|250"}, follow=True
    )
    assert "Rate “Storage” added." in saved.content.decode()
    assert (
        "Xero would reject invoices using this rate: revenue account code 250, but Xero&#x27;s account 250"
        in saved.content.decode()
    )
    rate = Rate.objects.get(label="Storage")
    edit = finance_client.get(f"/rates/{rate.pk}/").content.decode()
    assert 'data-testid="code-warning"' in edit and "is archived" in edit


def test_a_code_not_in_xero_is_saved_with_a_warning(linked, finance_client):
    saved = finance_client.post(
        "/rates/new/", {"label": "Later", "category": "other", "revenue_account_code": "297"}, follow=True
    )
    assert (
        "Rate “Later” added." in saved.content.decode()
        and "Not in Xero yet: revenue account code 297" in saved.content.decode()
    )
    assert statuses(setup_check.setup_check_run(connection=linked), "rates")["Later"] == "⚠"


def test_the_tax_rate_form_offers_the_tax_rates_that_apply_to_sales(linked, finance_client):
    form = finance_client.get("/settings/tax/new/").content.decode()
    assert 'list="accounting_code-choices"' in form
    assert 'value="OUTPUT2">OUTPUT2 — 15% GST on Income' in form and 'value="INPUT2"' not in form
    saved = finance_client.post(
        "/settings/tax/new/", {"name": "Imports", "rate": "15", "accounting_code": "INPUT2"}, follow=True
    )
    page = saved.content.decode()
    assert "Tax rate “Imports” added." in page and "cannot be used on sales" in page


def test_the_forms_offer_nothing_before_xero_is_linked(sandbox, finance_client):
    assert "code-choices" not in finance_client.get("/rates/new/").content.decode()
    assert "code-choices" not in finance_client.get("/settings/tax/new/").content.decode()


def test_a_draft_whose_codes_xero_would_reject_warns_before_issue(linked, finance_client, mismatches):
    bad = Invoice.objects.get()  # the draft with the rate "Handling", whose code is not in Xero
    good = draft_with_lines(line(rate=mismatches["rates"]["Sea freight"], tax_rate=mismatches["taxes"]["GST"]))
    page = finance_client.get(bad.get_absolute_url()).content.decode()
    assert 'data-testid="xero-code-check"' in page and "has revenue account code 298" in page
    assert 'data-testid="xero-code-check"' not in finance_client.get(good.get_absolute_url()).content.decode()


# --- the demo (make run) ---------------------------------------------------------------------------
@pytest.fixture
def demo(settings, live_server, transactional_db, client):
    """`demo_setup` (which seeds the sandbox, as in make run) and a superuser, like `demo`, who links NZ."""
    settings.XERO_LOGIN_URL = settings.XERO_IDENTITY_URL = settings.XERO_API_URL = f"{live_server.url}/xero-sandbox"
    settings.XERO_ENABLED = settings.DEBUG = True
    call_command("demo_setup", stdout=io.StringIO())
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw"))
    link(client, Organisation.objects.get(short_code="!nz001"))
    return client


def test_the_demo_data_shows_a_problem_of_each_kind_and_a_fix_clears_it_on_recheck(demo):
    report = check_page(demo).context["report"]
    accounts, rates, taxes = (statuses(report, key) for key in ("billing_accounts", "rates", "tax_rates"))
    assert accounts == {
        "Acme Imports Ltd": "✓",
        "Bluefin Seafoods Ltd": "✗",
        "Kiwi Traders": "✗",
        "Harbour Logistics": "✗",
        "Pacific Shipping Co": "✗",
        "Portside Cold Storage Ltd": "•",
    }
    assert (rates["Sea freight"], rates["Warehousing"], rates["Courier recharge"], rates["Port handling"]) == (
        "✓",
        "✗",
        "✗",
        "⚠",
    )
    assert (taxes["GST on income"], taxes["GST on imports"], taxes["GST (before 2010)"], taxes["GST on freight"]) == (
        "✓",
        "✗",
        "✗",
        "⚠",
    )
    nz = Organisation.objects.get(short_code="!nz001")
    bluefin = nz.contacts.get(account_number="BLUEFIN")
    assert demo.post(f"/xero-sandbox/orgs/{nz.pk}/contacts/{bluefin.pk}/unarchive/").status_code == 302
    harbour = BillingAccount.objects.get(code="harb-7")
    edited = demo.post(
        harbour.get_absolute_url(),
        {"code": "HARB-7", "name": harbour.name, "currency": "NZD", "payment_terms_days": 30},
    )
    assert edited.status_code == 302
    warehousing = Rate.objects.get(label="Warehousing")
    demo.post(
        f"/rates/{warehousing.pk}/", {"label": "Warehousing", "category": "other", "revenue_account_code": "WH|270"}
    )
    demo.post("/integrations/xero/setup-check/recheck/")
    after = check_page(demo).context["report"]
    assert statuses(after, "billing_accounts")["Bluefin Seafoods Ltd"] == "✓"
    assert statuses(after, "billing_accounts")["Harbour Logistics"] == "✓"
    assert statuses(after, "rates")["Warehousing"] == "✓"


def test_sales_documents_already_in_xero_under_numbers_the_platform_will_give_are_warned_of(linked):
    from xero_sandbox import books

    nz = Organisation.objects.get(tenant_id=linked.tenant_id)
    books.outside_document_create(
        nz, type="ACCREC", number="INV-000005", contact_name="Old Customer Ltd", total=Decimal("50")
    )
    books.outside_document_create(
        nz, type="ACCPAY", number="INV-000006", contact_name="A Supplier Ltd", total=Decimal("70")
    )
    report = setup_check.setup_check_run(connection=linked)
    numbers = {line.subject: line for line in next(s for s in report.sections if s.key == "numbers").lines}
    warned = numbers["Sales invoice INV-000005 in Xero"]
    assert warned.status == "warning" and "Old Customer Ltd" in warned.says and "refuse" in warned.says
    assert not any("INV-000006" in subject for subject in numbers)  # a supplier's bill takes no sales number
    assert numbers["Next credit note numbers"].status == "ok"
