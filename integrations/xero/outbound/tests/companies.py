"""A second company on the in-memory Xero (api/fake.py), for the fast tests of several companies: an
Australian one with its own GST (OUTPUT, 10 %) and number prefixes, linked to its own organisation."""

from dataclasses import dataclass
from decimal import Decimal

from billing.models import Company, Invoice, TaxRate
from billing.tests.factories import BillingAccountFactory, CompanyFactory, TaxRateFactory
from integrations.xero.api.fake import FakeOrganisation, FakeXeroApi
from integrations.xero.conftest import issued
from integrations.xero.models import XeroConnection
from integrations.xero.tests.factories import XeroConnectionFactory

AU_GST = {
    "name": "GST on Income",
    "tax_type": "OUTPUT",
    "status": "ACTIVE",
    "can_apply_to_revenue": True,
    "effective_rate": "10.0000",
}


@dataclass
class OtherCompany:
    company: Company
    tax: TaxRate
    connection: XeroConnection | None = None
    org: FakeOrganisation | None = None


def au_company(*, linked: bool = True, **link_fields) -> OtherCompany:
    """An AU company with its own tax rate; linked (unless told not) to its own in-memory organisation."""
    Company.objects.default()  # made first, should no document have made it yet: the default is the oldest
    company = CompanyFactory()
    tax = TaxRateFactory(company=company, name="GST (AU)", rate=Decimal("10"), accounting_code="OUTPUT")
    if not linked:
        return OtherCompany(company, tax)
    connection = XeroConnectionFactory(
        company=company,
        tenant_name=f"Fake Freight AU {company.pk} Pty Ltd",
        country_code="AU",
        base_currency="AUD",
        currencies=["AUD"],
        tax_rates=[AU_GST],
        **link_fields,
    )
    org = FakeXeroApi(connection).org
    org.name, org.currencies, org.tax_percent = connection.tenant_name, ["AUD"], {"OUTPUT": Decimal("10")}
    return OtherCompany(company, tax, connection, org)


def issued_by(other: OtherCompany, codes, *, account=None, kind=Invoice.Kind.INVOICE, **fields) -> Invoice:
    """A document the other company issued (2.5 × 100.00 + its tax), to an AUD customer by default."""
    account = account or BillingAccountFactory(currency="AUD")
    return issued(codes, account=account, kind=kind, tax=other.tax, company=other.company, **fields)
