"""Help at the point of entry, from the cached chart of accounts, tax rates and currencies (no call to
Xero): the rate and tax rate forms offer the organisation's codes and warn on one Xero would reject
(billing asks through billing.panels' code advisors); a draft Xero would reject says so on its page, and
issuing it is stopped with the reason (a currency the organisation lacks), or confirmed anyway (codes,
which may be fixed before the document is sent again)."""

from decimal import Decimal

from django.template.loader import render_to_string

from billing.models import Company
from billing.panels import (
    CodeAdvice,
    IssueConcern,
    register_code_advisor,
    register_document_panel,
    register_issue_check,
)
from integrations.models import AddOn, addon_enabled
from integrations.xero.models import XeroConnection
from integrations.xero.outbound import mapping


def linked_connection(company: Company | None = None) -> XeroConnection | None:
    """The company's link (the default company's when none is given) whose reference data can be judged by,
    or None (add-on off, not linked, nothing read yet)."""
    if not addon_enabled(AddOn.Key.XERO):
        return None
    connection = XeroConnection.objects.current(company)
    if (
        connection is None
        or connection.status != XeroConnection.Status.ACTIVE
        or not connection.reference_data_loaded_at
    ):
        return None
    return connection


class XeroCodeAdvisor:
    """A rate's code is judged by the default company's chart (a company with another chart overrides the
    code for itself); a tax rate's by its company's organisation, when the form says which."""

    def revenue_account_advice(self, code: str) -> CodeAdvice | None:
        connection = linked_connection()
        if connection is None:
            return None
        accounts = connection.chart_of_accounts
        choices = tuple((a["code"], f"{a['code']} — {a['name']}") for a in mapping.revenue_accounts(accounts))
        problem = mapping.revenue_account_problem(code, mapping.accounts_by_code(accounts)) if code else None
        return CodeAdvice(
            choices=choices, warning=_warning(problem, f"revenue account code {code}", "invoices using this rate")
        )

    def tax_code_advice(
        self, code: str, percentage: Decimal | None, *, company: Company | None = None
    ) -> CodeAdvice | None:
        connection = linked_connection(company)
        if connection is None:
            return None
        rates = connection.tax_rates
        choices = tuple(
            (r["tax_type"], f"{r['tax_type']} — {r['name']} ({r['effective_rate']}%)")
            for r in mapping.sales_tax_rates(rates)
        )
        problem = (
            mapping.tax_type_problem(code, mapping.tax_rates_by_type(rates), percentage=percentage) if code else None
        )
        return CodeAdvice(
            choices=choices, warning=_warning(problem, f"accounting code {code}", "invoices using this tax rate")
        )


def _warning(problem: mapping.CodeProblem | None, what: str, documents: str) -> str:
    if problem is None:
        return ""
    if problem.kind == mapping.NOT_IN_XERO:
        return (
            f"Not in Xero yet: {what}, {problem.says}. "
            f"It is saved all the same, but {documents} will not sync until it exists in Xero."
        )
    if problem.kind == mapping.PERCENT_DIFFERS:
        return f"Xero: {what}, {problem.says}. {problem.todo}"
    return f"Xero would reject {documents}: {what}, {problem.says}. {problem.todo}"


register_code_advisor(XeroCodeAdvisor())


@register_document_panel
def xero_code_check_panel(request, invoice) -> str:
    """On a draft: its currency, rates and tax rates Xero would reject, so nobody issues it unaware."""
    if not invoice.is_draft:
        return ""
    connection = linked_connection(invoice.company)
    if connection is None:
        return ""
    problems = mapping.document_problems(invoice, connection=connection)
    if not problems:
        return ""
    return render_to_string(
        "xero/draft_code_panel.html",
        {
            "problems": [problem[0].upper() + problem[1:] for problem in problems],
            "connection": connection,
        },
        request=request,
    )


@register_issue_check
def xero_issue_concerns(invoice) -> list[IssueConcern]:
    connection = linked_connection(invoice.company)  # the organisation the issuing company's documents go to
    if connection is None:
        return []
    currency = mapping.currency_problem(invoice.currency, connection.currencies, organisation=connection.tenant_name)
    codes = mapping.code_problems(invoice, accounts=connection.chart_of_accounts, tax_rates=connection.tax_rates)
    concerns = [IssueConcern(f"Xero would refuse it: {currency}", final=True)] if currency else []
    return concerns + [IssueConcern(f"Xero would refuse it: {problem}") for problem in codes]
