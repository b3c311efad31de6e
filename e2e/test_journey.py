"""The whole journey of the Xero add-on, driven as a person would in a real Chromium, against gunicorn on
PostgreSQL, a Celery worker on Redis, the sandbox as Xero and its webhook sender (e2e/stack.py).

The six steps are one test: they build on each other in one browser page, and as one test they cannot be
split over pytest-xdist's workers (whatever `--dist` says). Each step saves screenshots named after it; a
failing step fails the test with the step's name and its screenshot's path.
Waits on background work (the sync, webhooks) poll the page for up to E2E_WAIT_SECONDS (60).
"""

import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import IN_CI, WAIT_MS

try:
    from playwright.sync_api import expect
except ImportError:  # requirements-dev.txt pins it; CI must have it
    if IN_CI:
        raise
    pytest.skip("the playwright package is missing: `make install` (requirements-dev.txt)", allow_module_level=True)

pytestmark = pytest.mark.e2e

NZ_ORG, UK_ORG = "Demo Freight NZ Ltd", "Demo Freight UK Ltd"
UK_COMPANY = "Cocoon Freight UK Ltd"
NEW_ACCOUNT = {"code": "SCF-E2E", "name": "Southern Cross Freight Ltd"}  # no contact in Xero has either
GST = "GST on income (15%)"

# The longest reference a document takes, without a space: lists must not grow wider for it.
LONG_REFERENCE = "PO-" + "4711-CONSIGNMENT-" * 14 + "X" * 14

journey: dict[str, str] = {}  # what later steps need from earlier ones: document pages, numbers


def test_the_whole_journey_in_a_browser(page, stack, step):
    """Invoice before the add-on; link, check the set-up, send, get paid, credit and void, fail and retry, a
    second company; then tracking, a foreign currency, the PDF and the earlier invoice sent; last, the sync at a
    glance and its metrics — in that order."""
    issue_an_invoice_before_the_add_on_is_switched_on(page, stack, step)
    link_to_xero_on_the_consent_page_and_see_the_organisation(page, stack, step)
    fix_a_rates_revenue_code_from_the_set_up_check_and_recheck(page, stack, step)
    issue_an_invoice_for_a_customer_new_to_xero_and_see_it_sent_with_the_same_total(page, stack, step)
    record_a_payment_in_xero_and_see_the_invoice_paid_in_the_app(page, stack, step)
    allocate_a_credit_note_and_see_an_invoice_voided_in_xero_become_voided(page, stack, step)
    break_a_tax_code_see_the_sync_exception_fix_it_and_retry(page, stack, step)
    draft_in_a_currency_xero_lacks_and_see_the_issue_stopped_with_why(page, stack, step)
    add_a_uk_company_link_its_own_organisation_and_see_its_invoice_there_and_paid(page, stack, step)
    track_a_usd_invoice_by_service_and_branch_and_see_it_and_its_pdf_in_xero(page, stack, step)
    send_the_invoice_issued_before_the_add_on_and_watch_its_progress(page, stack, step)
    see_the_sync_at_a_glance_and_scrape_its_metrics(page, stack, step)


# --- helpers: what a person does, in a few words each ------------------------------------------
def sign_in(page, stack) -> None:
    page.goto("/login/")
    page.fill("#id_username", stack.username)
    page.fill("#id_password", stack.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Add Ons")).to_be_visible()


def open_menu(page, name: str) -> None:
    page.locator("nav.mainnav").get_by_role("link", name=name).click()


def expect_message(page, text: str) -> None:
    expect(page.locator(".messages .message").filter(has_text=text).first).to_be_visible()


def sync_state(page):
    return page.get_by_test_id("xero-sync-state")


def new_billing_account(page, code: str, name: str, *, currency: str, branch: str = "") -> None:
    open_menu(page, "Address book")
    page.get_by_role("link", name="New billing account").click()
    page.fill("#id_code", code)
    page.fill("#id_name", name)
    page.select_option("#id_currency", currency)
    if branch:
        page.select_option("#id_default_branch", label=branch)
    page.get_by_role("button", name="Save").click()
    expect_message(page, f"Billing account {code} added.")


def new_invoice(
    page,
    account_label: str,
    lines: list[tuple[str, str, str, str]],
    *,
    credits: str = "",
    reference: str = "",
    company: str = "",
) -> str:
    """A draft from the Invoices page (a credit note when it `credits` an invoice); returns its page."""
    fill_new_invoice(page, account_label, lines, credits=credits, reference=reference, company=company)
    page.get_by_role("button", name="Save draft").click()
    expect_message(page, "saved")
    return page.url


def fill_new_invoice(page, account_label, lines, *, credits="", reference="", company="") -> None:
    open_menu(page, "Invoices")
    page.get_by_role("link", name="New credit note" if credits else "New invoice").click()
    if company:  # the picker is there once there are several companies
        page.select_option("#id_company", label=company)
    page.select_option("#id_billing_account", label=account_label)
    if credits:  # the picker names each invoice "INV-000002 · customer · total, due …"
        offered = page.locator("#id_credited_invoice option").filter(has_text=f"{credits} · ")
        page.select_option("#id_credited_invoice", offered.get_attribute("value"))
    page.fill("#id_reference", reference)
    for index, (rate, quantity, price, tax) in enumerate(lines):
        if index:
            page.get_by_test_id("add-line").click()  # a line more, without saving
        page.select_option(f"#id_form-{index}-rate", label=rate)
        page.fill(f"#id_form-{index}-quantity", quantity)
        page.fill(f"#id_form-{index}-unit_price", price)
        page.select_option(f"#id_form-{index}-tax_rate", label=tax)


def issue(page) -> str:
    page.get_by_test_id("issue").click()  # "Issue…": the confirmation says what happens next
    return confirm_issue(page)


def confirm_issue(page) -> str:
    page.get_by_test_id("issue-now").click()
    expect_message(page, "issued")
    return re.search(r"[A-Z]*(INV|CN)-\d+", page.locator("h1").inner_text()).group(0)  # "Invoice INV-000001 Issued"


def wait_until_sent(page) -> str:
    """The page refreshes itself while the document waits; returns Xero's number once it is sent."""
    expect(sync_state(page)).to_have_text("Sent", timeout=WAIT_MS)
    return page.get_by_test_id("xero-number").inner_text()


def reload_until(page, locator, text: str) -> None:
    """For a change that comes back from Xero later (a webhook): look again, as a person would."""
    deadline = WAIT_MS
    while True:
        try:
            expect(locator).to_contain_text(text, timeout=2_000)
            return
        except AssertionError:
            deadline -= 3_000
            if deadline <= 0:
                raise
            page.reload()


def open_in_sandbox(page, stack, kind: str, number: str, *, organisation: str = NZ_ORG) -> None:
    """The sandbox's pages, as a person playing Xero: organisation, then Invoices or Credit notes."""
    page.goto(f"{stack.sandbox_url}/")
    page.get_by_role("link", name=organisation).first.click()
    page.locator(".tabs").get_by_role("link", name=kind).click()
    page.get_by_role("link", name=number, exact=True).click()


# --- the six steps -------------------------------------------------------------------------
def issue_an_invoice_before_the_add_on_is_switched_on(page, stack, step):
    with step("0a-an-invoice-issued-before-the-xero-add-on"):
        sign_in(page, stack)
        open_menu(page, "Add Ons")
        expect(page.locator("#addon-xero")).to_contain_text("not enabled")
        journey["earlier"] = new_invoice(page, "Acme Imports Ltd (ACME01)", [("Sea freight", "1", "120", GST)])
        journey["earlier_number"] = issue(page)
        expect(page.locator("#xero-sync")).to_have_count(0)  # no add-on: nothing to send it
    with step("0b-the-platform-provider-switches-the-xero-add-on-on"):
        page.goto("/admin/integrations/addon/add/")
        page.select_option("#id_key", "xero")
        page.check("#id_enabled")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".messagelist")).to_contain_text("was added successfully")


def link_to_xero_on_the_consent_page_and_see_the_organisation(page, stack, step):
    with step("1a-xero-consent-page"):
        page.goto("/")
        open_menu(page, "Add Ons")
        page.get_by_role("button", name="LINK TO MY ACCOUNT").click()
        expect(page.get_by_role("heading", name=re.compile("wants access to your Xero organisations"))).to_be_visible()
        page.get_by_label(NZ_ORG).check()
    with step("1b-linked"):
        page.get_by_role("button", name="Allow access").click()
        expect(page.get_by_text(NZ_ORG).first).to_be_visible()
        journey["landing"] = page.url
    with step("1c-addons-linked"):
        open_menu(page, "Add Ons")
        expect(page.get_by_test_id("xero-org")).to_have_text(NZ_ORG)
        expect(page.locator("#addon-xero .badge").first).to_have_text("Linked")


def fix_a_rates_revenue_code_from_the_set_up_check_and_recheck(page, stack, step):
    with step("2a-setup-check"):
        page.get_by_test_id("xero-setup-check").click()
        line = page.get_by_test_id("check-line").filter(has_text="Courier recharge")
        expect(line).to_have_attribute("data-status", "blocking")
    with step("2b-rate-form-offers-xeros-codes"):
        line.get_by_role("link", name="Fix it here").click()
        offered = page.locator("#revenue_account_code-choices option")
        sales = offered.filter(has_text="Sales").first
        page.fill("#id_revenue_account_code", sales.get_attribute("value"))
        expect(page.get_by_test_id("code-hint")).to_be_hidden()  # one of those offered
    with step("2c-rate-saved"):
        page.get_by_role("button", name="Save").click()
        expect_message(page, "Rate “Courier recharge” saved.")
    with step("2d-rechecked"):
        page.goto(journey["landing"] if "setup-check" in journey["landing"] else "/integrations/xero/setup-check/")
        page.get_by_test_id("recheck").click()
        expect(page.locator(".messages .message").first).to_be_visible()
        fixed = page.get_by_test_id("check-line").filter(has_text="Courier recharge")
        expect(fixed).to_have_attribute("data-status", "ok")


def issue_an_invoice_for_a_customer_new_to_xero_and_see_it_sent_with_the_same_total(page, stack, step):
    with step("3a-new-billing-account"):
        open_menu(page, "Address book")
        page.get_by_role("link", name="New billing account").click()
        page.fill("#id_code", NEW_ACCOUNT["code"])
        page.fill("#id_name", NEW_ACCOUNT["name"])
        page.fill("#id_email", "accounts@southerncross.example")
        page.get_by_role("button", name="Save").click()
        expect_message(page, f"Billing account {NEW_ACCOUNT['code']} added.")
    with step("3b-two-lines-added-with-a-running-total-before-saving"):
        fill_new_invoice(
            page,
            f"{NEW_ACCOUNT['name']} ({NEW_ACCOUNT['code']})",
            [
                ("Sea freight", "2.5", "185.50", GST),
                ("Cargo insurance", "1", "42", GST),
                ("Air freight", "1", "9", GST),  # removed again before saving
            ],
            reference=LONG_REFERENCE,
        )
        expect(page.locator("#id_form-0-description")).to_have_value("Sea freight")  # filled from the rate
        expect(page.locator("[data-total=total]")).to_have_text("591.96")
        page.locator("tr[data-line]").nth(2).get_by_test_id("remove-line").click()  # the third, unsaved
        expect(page.locator("[data-total=total]")).to_have_text("581.61")  # (463.75 + 42) + 69.56 + 6.30
    with step("3c-confirm-before-issue"):
        page.get_by_role("button", name="Save draft").click()
        expect_message(page, "saved")
        journey["paid"] = page.url
        expect(page.get_by_test_id("total")).to_have_text("581.61")
        page.get_by_test_id("issue").click()
        expect(page.get_by_test_id("issue-next")).to_contain_text("It is locked")
    with step("3c-issued-waiting"):
        number = confirm_issue(page)
        expect(sync_state(page)).to_have_text(re.compile("Waiting|Sending|Sent"))
    with step("3d-sent-in-the-list-without-a-reload"):
        open_menu(page, "Invoices")  # the list looks again by itself while a document waits
        row = page.locator("table.list tbody tr").filter(has_text=number)
        expect(row.locator(".badge-sync-sent")).to_contain_text("sent", ignore_case=True, timeout=WAIT_MS)
        width = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert width <= 0, f"a {len(LONG_REFERENCE)}-character reference widens the list by {width} px"
    with step("3e-sent-with-xeros-number"):
        row.get_by_role("link", name=number).click()
        journey["paid_number"] = wait_until_sent(page)
        assert journey["paid_number"] == number, "Xero keeps the platform's number"
    with step("3f-in-the-sandbox-with-the-same-total"):
        open_in_sandbox(page, stack, "Invoices", number)
        expect(page.get_by_test_id("total")).to_have_text("581.61")
        expect(page.get_by_text(NEW_ACCOUNT["name"]).first).to_be_visible()


def record_a_payment_in_xero_and_see_the_invoice_paid_in_the_app(page, stack, step):
    with step("4a-paid-in-the-sandbox"):
        page.get_by_role("button", name=re.compile("Record full payment")).click()
        expect(page.get_by_test_id("amount-due")).to_have_text("0.00")
    with step("4b-paid-in-the-app"):
        page.goto(journey["paid"])
        reload_until(page, page.locator("h1 .badge"), "Paid")
        expect(page.get_by_test_id("xero-status-source")).to_contain_text("webhook")
        expect(page.get_by_test_id("paid")).to_have_text("−581.61")
        expect(page.get_by_test_id("amount-due")).to_have_text("0.00")


def allocate_a_credit_note_and_see_an_invoice_voided_in_xero_become_voided(page, stack, step):
    with step("5a-invoice-to-credit-sent"):
        credited = new_invoice(page, "Acme Imports Ltd (ACME01)", [("Sea freight", "1", "200", GST)])
        journey["credited_number"] = issue(page)
        wait_until_sent(page)
    with step("5b-credit-note-allocated"):
        new_invoice(
            page, "Acme Imports Ltd (ACME01)", [("Sea freight", "1", "50", GST)], credits=journey["credited_number"]
        )
        issue(page)
        wait_until_sent(page)
        reload_until(page, page.locator("h1 .badge"), "Paid")  # Xero: a fully allocated credit note is PAID
        expect(page.get_by_test_id("xero-amounts")).to_contain_text("remaining 0.00")
    with step("5c-credited-invoice-part-paid"):
        page.goto(credited)
        reload_until(page, page.get_by_test_id("xero-amounts"), "due 172.50")  # 230.00 less the 57.50 credit
        expect(page.get_by_test_id("credit-notes")).to_contain_text("57.50")
        expect(page.get_by_test_id("less-credited")).to_have_text("−57.50")
        expect(page.get_by_test_id("amount-due")).to_have_text("172.50")
    with step("5d-voided-in-the-sandbox"):
        voided = new_invoice(page, "Acme Imports Ltd (ACME01)", [("Cargo insurance", "1", "42", GST)])
        number = issue(page)
        wait_until_sent(page)
        open_in_sandbox(page, stack, "Invoices", number)
        page.get_by_role("button", name="Void").click()
        expect(page.locator(".badge").filter(has_text=re.compile("VOIDED", re.I)).first).to_be_visible()
    with step("5e-voided-in-the-app"):
        page.goto(voided)
        reload_until(page, page.locator("h1 .badge"), "Voided")


def break_a_tax_code_see_the_sync_exception_fix_it_and_retry(page, stack, step):
    with step("6a-tax-code-broken"):
        open_menu(page, "Settings › Tax")
        page.get_by_role("link", name="Zero rated (exports)").click()
        page.fill("#id_accounting_code", "INPUT2")  # a purchases tax type: Xero refuses it on a sale
        page.get_by_role("button", name="Save").click()
        expect_message(page, "saved")
    with step("6b-sync-exception"):
        document = new_invoice(
            page, "Acme Imports Ltd (ACME01)", [("Air freight", "1", "310", "Zero rated (exports) (0%)")]
        )
        issue(page)
        expect(sync_state(page)).to_have_text("Failed", timeout=WAIT_MS)
        open_menu(page, "Sync exceptions")
        row = page.get_by_test_id("sync-exception").first
        expect(row.get_by_test_id("sync-error")).to_contain_text("INPUT2")
    with step("6c-tax-code-fixed"):
        open_menu(page, "Settings › Tax")
        page.get_by_role("link", name="Zero rated (exports)").click()
        page.fill("#id_accounting_code", "ZERORATED")
        page.get_by_role("button", name="Save").click()
        expect_message(page, "saved")
    with step("6d-retried-and-resolved"):
        open_menu(page, "Sync exceptions")
        page.get_by_test_id("sync-exception").first.get_by_role("button", name="Retry").click()
        expect(page.locator(".messages .message").first).to_be_visible()
        page.goto(document)
        wait_until_sent(page)
        open_menu(page, "Sync exceptions")
        expect(page.get_by_test_id("sync-exceptions-empty")).to_be_visible()


def draft_in_a_currency_xero_lacks_and_see_the_issue_stopped_with_why(page, stack, step):
    with step("7a-a-gbp-draft-cannot-be-issued-to-a-nzd-organisation"):
        new_billing_account(page, "LONDON-1", "London Forwarding Ltd", currency="GBP")
        new_invoice(page, "London Forwarding Ltd (LONDON-1)", [("Sea freight", "1", "100", GST)])
        expect(page.get_by_test_id("xero-code-check")).to_contain_text("GBP is not enabled")
        page.get_by_test_id("issue").click()
        expect(page.get_by_test_id("issue-concern")).to_contain_text("its currency GBP is not enabled")
        expect(page.get_by_test_id("issue-now")).to_have_count(0)  # nothing to confirm: it would never be sent


def add_a_uk_company_link_its_own_organisation_and_see_its_invoice_there_and_paid(page, stack, step):
    with step("8a-a-second-company-added"):
        page.goto("/admin/billing/company/add/")
        page.fill("#id_name", UK_COMPANY)
        page.select_option("#id_country", "GB")
        page.select_option("#id_base_currency", "GBP")
        page.fill("#id_invoice_prefix", "UKINV")
        page.fill("#id_credit_note_prefix", "UKCN")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    with step("8b-its-own-tax-rate"):
        page.get_by_role("link", name="View site").click()  # from the admin back to the platform
        open_menu(page, "Settings › Tax")
        page.get_by_role("link", name="New tax rate").click()
        page.select_option("#id_company", label=UK_COMPANY)
        page.fill("#id_name", "VAT on income")
        page.fill("#id_rate", "20")
        page.fill("#id_accounting_code", "OUTPUT2")
        page.get_by_role("button", name="Save").click()
        expect_message(page, "Tax rate “VAT on income” added.")
    with step("8c-each-company-its-own-card-and-organisation"):
        open_menu(page, "Add Ons")
        card = page.get_by_test_id("xero-link").filter(has_text=UK_COMPANY)
        card.get_by_role("button", name="LINK TO MY ACCOUNT").click()
        page.get_by_label(UK_ORG).check()
        page.get_by_role("button", name="Allow access").click()
        expect_message(page, f"Linked to Xero organisation {UK_ORG} for {UK_COMPANY}.")
        open_menu(page, "Add Ons")
        expect(page.get_by_test_id("xero-link").filter(has_text=UK_COMPANY).get_by_test_id("xero-org")).to_have_text(
            UK_ORG
        )
        expect(page.get_by_test_id("xero-link").first.get_by_test_id("xero-org")).to_have_text(NZ_ORG)
    with step("8d-the-uk-companys-invoice-sent-to-its-organisation-with-its-number"):
        journey["uk"] = new_invoice(
            page,
            "London Forwarding Ltd (LONDON-1)",
            [("Sea freight", "2", "400", "VAT on income (20%)")],
            company=UK_COMPANY,
        )
        number = issue(page)
        assert number.startswith("UKINV-"), number
        assert wait_until_sent(page) == number
        expect(page.get_by_test_id("company")).to_have_text(UK_COMPANY)
    with step("8e-in-the-uk-organisation-and-paid-there"):
        open_in_sandbox(page, stack, "Invoices", number, organisation=UK_ORG)
        expect(page.get_by_test_id("total")).to_have_text("960.00")
        page.get_by_role("button", name=re.compile("Record full payment")).click()
        expect(page.get_by_test_id("amount-due")).to_have_text("0.00")
    with step("8f-paid-back-in-the-app"):
        page.goto(journey["uk"])
        reload_until(page, page.locator("h1 .badge"), "Paid")


def track_a_usd_invoice_by_service_and_branch_and_see_it_and_its_pdf_in_xero(page, stack, step):
    with step("9a-tracking-mapped-on-the-set-up-check"):
        open_menu(page, "Add Ons")
        page.get_by_test_id("xero-link").first.get_by_test_id("xero-setup-check").click()
        page.get_by_test_id("tracking-for-service").select_option("Service")
        page.get_by_test_id("tracking-for-branch").select_option("Branch")
        page.get_by_test_id("tracking-save").click()
        expect_message(page, "Tracking saved")
    with step("9b-a-usd-customer-billed-from-wellington"):
        new_billing_account(page, "PACIFIC-US", "Pacific Traders Inc", currency="USD", branch="Wellington")
        journey["usd"] = new_invoice(
            page, "Pacific Traders Inc (PACIFIC-US)", [("Sea freight", "2", "500", "Zero rated (exports) (0%)")]
        )
        journey["usd_number"] = issue(page)
        assert wait_until_sent(page) == journey["usd_number"]
    with step("9c-in-xero-in-usd-with-its-lines-tracking"):
        open_in_sandbox(page, stack, "Invoices", journey["usd_number"])
        expect(page.get_by_text("Total USD")).to_be_visible()
        expect(page.get_by_test_id("total")).to_have_text("1000.00")
        expect(page.get_by_test_id("tracking").first).to_have_text("Service: Sea · Branch: Wellington")
    with step("9d-the-pdf-downloaded"):
        page.goto(journey["usd"])
        with page.expect_download() as download:
            page.get_by_role("link", name="Download PDF").click()
        assert download.value.suggested_filename == f"{journey['usd_number']}.pdf"
        assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    with step("9e-the-pdf-on-xeros-online-invoice"):
        reload_until(page, page.get_by_test_id("xero-pdf"), "attached in Xero")
        page.goto(page.get_by_test_id("online-invoice").get_attribute("href"))
        expect(page.get_by_text(f"{journey['usd_number']}.pdf").first).to_be_visible()


def send_the_invoice_issued_before_the_add_on_and_watch_its_progress(page, stack, step):
    with step("10a-earlier-documents-counted-first"):
        page.goto("/")
        open_menu(page, "Add Ons")
        page.get_by_test_id("xero-link").first.get_by_test_id("xero-backfill").click()
        page.fill("#id_issued_from", "2020-01-01")
        page.get_by_role("button", name="Count them").click()
        expect(page.get_by_test_id("backfill-preview")).to_contain_text("1 document")
        expect(page.get_by_test_id("backfill-preview")).to_contain_text("NZD 138.00")  # 120 + 15 % GST
    with step("10b-sent-with-a-progress-bar-until-done"):
        page.get_by_role("button", name="Send 1 to Xero").click()
        expect(page.get_by_test_id("backfill-progress")).to_be_visible()
        expect(page.get_by_test_id("backfill-done")).to_be_visible(timeout=WAIT_MS)  # the page refreshes itself
        expect(page.get_by_test_id("backfill-sent")).to_have_text("1")
    with step("10c-the-earlier-invoice-in-xero"):
        page.goto(journey["earlier"])
        assert wait_until_sent(page) == journey["earlier_number"]


# What the journey sent: the earlier invoice, INV for a new customer, the credited one, the voided one, the one
# whose tax code was broken (then retried), the UK company's and the USD one; and one credit note.
JOURNEY_SENT = {"invoice": 7, "credit_note": 1}


def see_the_sync_at_a_glance_and_scrape_its_metrics(page, stack, step):
    sent_by_organisation = {}
    for index, organisation in enumerate((NZ_ORG, UK_ORG)):
        with step(f"11{'ab'[index]}-the-sync-at-a-glance-{organisation.split()[-2].lower()}"):
            page.goto("/")
            open_menu(page, "Add Ons")
            page.get_by_test_id("xero-link").nth(index).get_by_test_id("xero-sync-charts").click()
            expect(page.get_by_text(f"the link to {organisation}")).to_be_visible()
            for chart in ("documents", "to-xero", "reasons", "day-calls", "hour-calls", "status-back"):
                expect(page.get_by_test_id(f"chart-{chart}").locator("svg")).to_be_visible()
            expect(page.get_by_test_id("headline-exceptions")).to_have_text("0")
            thirty_days = page.get_by_test_id("headline-30-days").inner_text()
            sent_by_organisation[organisation] = int(re.search(r"(\d+) sent", thirty_days).group(1))
            if organisation == UK_ORG:  # its numbers, the charts' text alternative
                page.get_by_test_id("chart-documents").get_by_text("The numbers").click()
                expect(page.get_by_test_id("chart-documents-numbers")).to_be_visible()
    with step("11c-metrics-scraped-with-the-token"):
        assert page.request.get("/metrics").status == 401
        answer = page.request.get("/metrics", headers={"Authorization": f"Bearer {stack.metrics_token}"})
        assert answer.status == 200
        metrics = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text())
            for sample in family.samples
        }
        sent = {kind: metrics[("xero_documents_sent_total", (("kind", kind),))] for kind in JOURNEY_SENT}
        assert sent == JOURNEY_SENT
        assert sum(sent.values()) == sum(sent_by_organisation.values())
        assert metrics[("xero_documents_failed_total", (("kind", "invoice"),))] == 1  # the broken tax code
        for organisation in (NZ_ORG, UK_ORG):
            for state in ("waiting", "sending", "failed"):
                assert metrics[("xero_documents", (("organisation", organisation), ("state", state)))] == 0
        assert not [key for key in metrics if key[0] == "xero_oldest_waiting_document_age_seconds"]
        assert metrics[("xero_api_calls_total", (("endpoint", "create_invoices"), ("status", "200")))] >= 5
        assert metrics[("xero_webhook_events_received_total", ())] >= 3  # paid, voided, paid in the UK
        assert metrics[("xero_webhook_events_rejected_total", ())] == 0
        assert metrics[("xero_webhook_events_pending", ())] == 0
        assert "# TYPE xero_seconds_since_last_reconciliation gauge" in answer.text()
        assert "# TYPE xero_api_rate_limited_total counter" in answer.text()
