"""The set-up check and the code advice with several companies, on the in-memory Xero: a company's check
judges its own tax rates, the revenue account its rates post to in its own chart and its own document
numbers; a draft is judged by its issuing company's organisation."""

from decimal import Decimal

from billing.models import RateCompanyCode
from billing.tests.factories import BillingAccountFactory, draft_with_lines, line
from integrations.xero.models import XeroConnection
from integrations.xero.outbound.tests.companies import au_company
from integrations.xero.setup import code_advice, setup_check
from integrations.xero.setup.report import BLOCKING, OK

AU_SALES = {
    "code": "260",
    "name": "Freight Revenue",
    "type": "REVENUE",
    "class": "REVENUE",
    "status": "ACTIVE",
    "system_account": "",
    "tax_type": "OUTPUT",
}


def au_with_its_own_chart(codes):
    """The AU company's chart books sea freight to 260 (it has no 200), and its rate says so."""
    au = au_company()
    XeroConnection.objects.filter(pk=au.connection.pk).update(chart_of_accounts=[AU_SALES])
    au.connection.refresh_from_db()
    RateCompanyCode.objects.create(rate=codes["rate"], company=au.company, revenue_account_code="260")
    return au


def au_draft(au, codes):
    return draft_with_lines(
        line(rate=codes["rate"], tax_rate=au.tax),
        company=au.company,
        billing_account=BillingAccountFactory(currency="AUD"),
    )


def section(report, key):
    return next(s for s in report.sections if s.key == key)


def test_a_companys_check_judges_its_own_tax_rates_rate_codes_and_numbers(fake_xero, codes):
    au = au_with_its_own_chart(codes)
    report = setup_check.setup_check_run(connection=au.connection)
    assert [(t.subject, t.code, t.status) for t in section(report, "tax_rates").lines] == [("GST (AU)", "OUTPUT", OK)]
    (rate,) = section(report, "rates").lines
    assert (rate.subject, rate.code, rate.status) == ("Sea freight", "260", OK)
    numbers = [n.code for n in section(report, "numbers").lines]
    assert numbers == [f"{au.company.invoice_prefix}-…", f"{au.company.credit_note_prefix}-…"]
    assert report.organisation == au.connection.tenant_name


def test_the_default_companys_check_is_as_before(fake_xero, codes):
    au_with_its_own_chart(codes)
    report = setup_check.setup_check_run(connection=fake_xero.connection)
    assert [t.subject for t in section(report, "tax_rates").lines] == ["GST"]
    (rate,) = section(report, "rates").lines
    assert (rate.code, rate.status) == ("SEA|200", OK)
    assert [n.code for n in section(report, "numbers").lines] == ["INV-…", "CN-…"]


def test_a_rate_used_only_by_another_companys_drafts_does_not_block_this_companys_check(fake_xero, codes):
    au = au_company()  # its chart is the NZ one's (200): the rate's 999 is in neither
    codes["rate"].revenue_account_code = "999"
    codes["rate"].save()
    au_draft(au, codes)
    lines = {c.key: c.lines for c in setup_check.setup_check_run(connection=fake_xero.connection).sections}
    assert [r.status for r in lines["rates"]] != [BLOCKING]
    assert [r.status for r in section(setup_check.setup_check_run(connection=au.connection), "rates").lines] == [
        BLOCKING
    ]


def test_a_draft_is_judged_by_its_issuing_companys_organisation(fake_xero, codes):
    au = au_with_its_own_chart(codes)
    ours = draft_with_lines(line(rate=codes["rate"], tax_rate=codes["tax"]))
    assert code_advice.xero_issue_concerns(au_draft(au, codes)) == []  # 260, OUTPUT and AUD: the AU organisation's
    assert code_advice.xero_issue_concerns(ours) == []
    RateCompanyCode.objects.filter(company=au.company).delete()  # now 200, which the AU chart lacks
    (concern,) = code_advice.xero_issue_concerns(au_draft(au, codes))
    assert "200" in concern.says and not concern.final


def test_the_tax_rate_form_is_advised_by_the_tax_rates_company_when_known(fake_xero, codes):
    au = au_company()
    advisor = code_advice.XeroCodeAdvisor()
    assert [code for code, _ in advisor.tax_code_advice("", Decimal("10"), company=au.company).choices] == ["OUTPUT"]
    assert [code for code, _ in advisor.tax_code_advice("", Decimal("15")).choices] == ["OUTPUT2"]
