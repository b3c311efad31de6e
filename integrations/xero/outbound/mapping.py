"""The platform's documents as Xero documents: plain values in, `values.DocumentOut` out; and the rules
for the codes Xero accepts on a sales line, judged from the organisation's cached chart of accounts and
tax rates. The sync (before sending), the set-up check and the forms' hints all use these rules."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from billing.models import Invoice
from integrations.xero.api.values import DocumentOut, LineOut
from integrations.xero.outbound import tracking

# What can be wrong with a code (`CodeProblem.kind`).
NOT_IN_XERO = "not_in_xero"  # may be created in Xero later: a warning until a document needs it
ARCHIVED = "archived"
NOT_REVENUE = "not_revenue"
SYSTEM_ACCOUNT = "system_account"
NOT_FOR_SALES = "not_for_sales"
INACTIVE = "inactive"
PERCENT_DIFFERS = "percent_differs"  # Xero takes the document, but its tax differs from the platform's


@dataclass(frozen=True)
class CodeProblem:
    kind: str
    says: str  # what is wrong, in a sentence that can follow "… has revenue account code 250,"
    todo: str  # what to do about it


def document_out(invoice: Invoice, *, contact_id: str, connection=None, branding_theme_id: str = "") -> DocumentOut:
    """The document as sent; with the link, its lines carry the tracking the link's organisation keeps."""
    return DocumentOut(
        branding_theme_id=branding_theme_id,
        credit_note=invoice.is_credit_note,
        number=invoice.number,
        contact_id=contact_id,
        reference=invoice.reference,
        currency=invoice.currency,
        currency_rate=invoice.exchange_rate,
        date=invoice.issue_date,
        due_date=invoice.due_date,
        lines=tuple(
            LineOut(
                description=line.description,
                quantity=line.quantity,
                unit_amount=line.unit_price,
                account_code=line.rate.revenue_accounting_code_for(invoice.company_id),  # the part after any PREFIX|
                tax_type=line.tax_rate.accounting_code,
                tracking=tracking.line_tracking(invoice, line, connection) if connection else (),
            )
            for line in invoice.lines.all()
        ),
    )


def document_problems(invoice: Invoice, *, connection) -> list[str]:
    """What Xero would refuse in this document that the platform can know: a currency the organisation has
    not enabled, codes not in its cached chart of accounts and tax rates, and tracking options it lacks."""
    problems = [currency_problem(invoice.currency, connection.currencies, organisation=connection.tenant_name)]
    problems += code_problems(invoice, accounts=connection.chart_of_accounts, tax_rates=connection.tax_rates)
    problems += tracking.tracking_problems(invoice, connection)
    return [problem for problem in problems if problem]


def currency_problem(currency: str, enabled: list[str], *, organisation: str) -> str:
    """ "" when the organisation has the currency enabled (or its currencies were never read)."""
    if not enabled or currency in enabled:
        return ""
    return (
        f"its currency {currency} is not enabled in the Xero organisation {organisation}, which has "
        f"{', '.join(enabled)} (Xero refuses it: “Organisation is not subscribed to currency {currency}”). "
        f"Enable {currency} in Xero under Settings › Currencies (then Recheck on the Set-up check), or use one "
        "of those currencies."
    )


def code_problems(invoice: Invoice, *, accounts: list[dict], tax_rates: list[dict]) -> list[str]:
    """What Xero would refuse in this document's codes, judged from the organisation's cached lists."""
    by_code, by_tax_type = accounts_by_code(accounts), tax_rates_by_type(tax_rates)
    problems = []
    for line in invoice.lines.all():
        problems += _revenue_code_problems(line.rate, by_code, company_id=invoice.company_id)
        problems += _tax_code_problems(line.tax_rate, by_tax_type)
    return list(dict.fromkeys(problems))  # once each, in order


def accounts_by_code(accounts: list[dict]) -> dict[str, dict]:
    return {account["code"]: account for account in accounts if account["code"]}


def tax_rates_by_type(tax_rates: list[dict]) -> dict[str, dict]:
    return {rate["tax_type"]: rate for rate in tax_rates}


def revenue_accounts(accounts: list[dict]) -> list[dict]:
    """The accounts a sales line may post to: active, revenue-class, not system accounts."""
    by_code = accounts_by_code(accounts)
    return [account for code, account in by_code.items() if revenue_account_problem(code, by_code) is None]


def sales_tax_rates(tax_rates: list[dict]) -> list[dict]:
    """The tax rates a sales line may carry: active and able to apply to revenue."""
    return [rate for rate in tax_rates if rate["status"] == "ACTIVE" and rate["can_apply_to_revenue"]]


def revenue_account_problem(code: str, by_code: dict[str, dict]) -> CodeProblem | None:
    """What Xero would say of this revenue account code (the part sent, after any PREFIX|)."""
    account = by_code.get(code)
    if account is None:
        return CodeProblem(
            NOT_IN_XERO,
            "which is not in Xero's chart of accounts",
            "Use the Code of an active revenue account, or create that account in Xero.",
        )
    named = f"Xero's account {code} ({account['name']})"
    if account["status"] != "ACTIVE":
        return CodeProblem(ARCHIVED, f"but {named} is archived", "Un-archive it in Xero or pick another.")
    if account["system_account"]:
        return CodeProblem(
            SYSTEM_ACCOUNT, f"but {named} is a system account, not a revenue account", "Pick an active revenue account."
        )
    if account["class"] != "REVENUE":
        kind = account["class"].lower()
        article = "an" if kind[:1] in "aeiou" else "a"
        return CodeProblem(
            NOT_REVENUE,
            f"but {named} is {article} {kind} account, not a revenue account",
            "Pick an active revenue account.",
        )
    return None


def tax_type_problem(
    code: str, by_tax_type: dict[str, dict], *, percentage: Decimal | None = None
) -> CodeProblem | None:
    """What Xero would say of this accounting code as a TaxType on a sales line; with `percentage`, also
    whether the platform's percentage agrees with Xero's effective rate (a warning: Xero takes it)."""
    rate = by_tax_type.get(code)
    if rate is None:
        return CodeProblem(
            NOT_IN_XERO,
            "which is not one of the organisation's Xero tax types (TaxType)",
            "Use a Xero tax type that applies to sales, or create that tax rate in Xero.",
        )
    if rate["status"] != "ACTIVE":
        return CodeProblem(INACTIVE, "but that Xero tax rate is not active", "Pick an active Xero tax rate.")
    if not rate["can_apply_to_revenue"]:
        return CodeProblem(
            NOT_FOR_SALES,
            f"but Xero's “{rate['name']}” cannot be used on sales",
            "Pick a Xero tax rate that applies to revenue.",
        )
    xero_percentage = _decimal(rate.get("effective_rate"))
    if percentage is not None and xero_percentage is not None and xero_percentage != percentage:
        return CodeProblem(
            PERCENT_DIFFERS,
            f"but Xero's “{rate['name']}” is {xero_percentage.normalize():f}%, not {percentage.normalize():f}%",
            "Make the two percentages agree, or the tax (and totals) in Xero will differ from the platform's.",
        )
    return None


def _decimal(text) -> Decimal | None:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None


def _revenue_code_problems(rate, by_code, *, company_id: int) -> list[str]:
    code = rate.revenue_accounting_code_for(company_id)
    problem = revenue_account_problem(code, by_code)
    if problem is None:
        return []
    return [
        f"the rate “{rate.label}” (Rates › {rate.label}) has revenue account code {code}, "
        f"{problem.says}. {problem.todo}"
    ]


def _tax_code_problems(tax_rate, by_tax_type) -> list[str]:
    code = tax_rate.accounting_code
    problem = tax_type_problem(code, by_tax_type)
    if problem is None:
        return []
    return [
        f"the tax rate “{tax_rate.name}” (Settings › Tax) has accounting code {code}, {problem.says}. {problem.todo}"
    ]
