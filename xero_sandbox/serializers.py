"""Sandbox rows as the Accounting API's JSON elements."""

from .models import Account, Organisation, TaxRate


def organisation_element(org: Organisation) -> dict:
    return {
        "OrganisationID": org.tenant_id,
        "Name": org.name,
        "LegalName": org.name,
        "PaysTax": True,
        "Version": {"AU": "AU", "NZ": "NZ", "GB": "UK", "US": "US"}.get(org.country_code, "GLOBAL"),
        "OrganisationType": "COMPANY",
        "BaseCurrency": org.base_currency,
        "CountryCode": org.country_code,
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "ShortCode": org.short_code,
        "CreatedDateUTC": org.created_at,
        "Timezone": "NEWZEALANDSTANDARDTIME" if org.country_code == "NZ" else "GMTSTANDARDTIME",
        "OrganisationEntityType": "COMPANY",
        "Edition": "BUSINESS",
        "Class": "STANDARD",
    }


def account_element(account: Account) -> dict:
    element = {
        "AccountID": account.account_id,
        "Code": account.code,
        "Name": account.name,
        "Type": account.type,
        "Status": account.status,
        "TaxType": account.tax_type,
        "Class": account.account_class,
        "EnablePaymentsToAccount": False,
        "ShowInExpenseClaims": False,
        "ReportingCode": "",
        "HasAttachments": False,
        "UpdatedDateUTC": account.updated_at,
        "AddToWatchlist": False,
    }
    if account.system_account:
        element["SystemAccount"] = account.system_account
    return element


def tax_rate_element(rate: TaxRate) -> dict:
    return {
        "Name": rate.name,
        "TaxType": rate.tax_type,
        "Status": rate.status,
        "ReportTaxType": "OUTPUT" if rate.can_apply_to_revenue else "INPUT",
        "CanApplyToAssets": rate.can_apply_to_expenses,
        "CanApplyToEquity": rate.can_apply_to_expenses,
        "CanApplyToExpenses": rate.can_apply_to_expenses,
        "CanApplyToLiabilities": rate.can_apply_to_expenses,
        "CanApplyToRevenue": rate.can_apply_to_revenue,
        "DisplayTaxRate": rate.display_tax_rate,
        "EffectiveRate": rate.effective_rate,
        "TaxComponents": [
            {"Name": rate.name, "Rate": rate.display_tax_rate, "IsCompound": False, "IsNonRecoverable": False}
        ],
    }
