"""The platform's documents as Xero documents: plain values in, `client.DocumentOut` out."""

from billing.models import Invoice

from .client import DocumentOut, LineOut


def document_out(invoice: Invoice, *, contact_id: str) -> DocumentOut:
    return DocumentOut(
        credit_note=invoice.is_credit_note,
        number=invoice.number,
        contact_id=contact_id,
        reference=invoice.reference,
        currency=invoice.currency,
        date=invoice.issue_date,
        due_date=invoice.due_date,
        lines=tuple(
            LineOut(
                description=line.description,
                quantity=line.quantity,
                unit_amount=line.unit_price,
                account_code=line.rate.revenue_accounting_code,  # the part after any PREFIX|
                tax_type=line.tax_rate.accounting_code,
            )
            for line in invoice.lines.all()
        ),
    )


def code_problems(invoice: Invoice, *, accounts: list[dict], tax_rates: list[dict]) -> list[str]:
    """What Xero would refuse in this document's codes, judged from the organisation's cached lists."""
    by_code = {account["code"]: account for account in accounts}
    by_tax_type = {rate["tax_type"]: rate for rate in tax_rates}
    problems = []
    for line in invoice.lines.all():
        problems += _revenue_code_problems(line.rate, by_code)
        problems += _tax_code_problems(line.tax_rate, by_tax_type)
    return list(dict.fromkeys(problems))  # once each, in order


def _revenue_code_problems(rate, by_code) -> list[str]:
    code = rate.revenue_accounting_code
    account = by_code.get(code)
    where = f"the rate “{rate.label}” (Rates › {rate.label}) has revenue account code {code}"
    if account is None:
        return [f"{where}, which is not in Xero's chart of accounts. Use the Code of an active revenue account."]
    if account["status"] != "ACTIVE":
        return [f"{where}, but Xero's account {code} ({account['name']}) is archived. Un-archive it in Xero or pick another."]
    if account["class"] != "REVENUE" or account["system_account"]:
        kind = "a system account" if account["system_account"] else f"a {account['class'].lower()} account"
        return [f"{where}, but Xero's account {code} ({account['name']}) is {kind}, not a revenue account."]
    return []


def _tax_code_problems(tax_rate, by_tax_type) -> list[str]:
    code = tax_rate.accounting_code
    rate = by_tax_type.get(code)
    where = f"the tax rate “{tax_rate.name}” (Settings › Tax) has accounting code {code}"
    if rate is None:
        return [f"{where}, which is not one of the organisation's Xero tax types (TaxType)."]
    if rate["status"] != "ACTIVE":
        return [f"{where}, but that Xero tax rate is not active."]
    if not rate["can_apply_to_revenue"]:
        return [f"{where}, but Xero's “{rate['name']}” cannot be used on sales."]
    return []
