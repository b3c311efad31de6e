"""Branding themes: a billing account's documents carry, in each organisation, the theme chosen for it on
the billing account's page (the address book); without a choice, or once the chosen theme is gone from
Xero, none is sent and Xero gives the organisation's default (its theme of the lowest sort order).

The organisation's themes are read with its chart of accounts (`linking.reference_data_refresh`)."""

import uuid

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from billing.models import BillingAccount
from integrations.xero.models import BrandingChoice, XeroConnection


def themes_by_id(connection: XeroConnection) -> dict[str, dict]:
    """The organisation's themes by id, written as `str(uuid)` writes it (lower case), whatever case Xero used."""
    return {theme["id"].lower(): theme for theme in connection.branding_themes}


def theme_ids_for(connection: XeroConnection, *, account_ids) -> dict[int, str]:
    """The theme each of these billing accounts' documents carry in the organisation (one query); accounts
    without one (or whose theme is gone from Xero) are left out: the organisation's default applies."""
    known = themes_by_id(connection)
    chosen = BrandingChoice.objects.filter(tenant_id=connection.tenant_id, billing_account_id__in=list(account_ids))
    return {choice.billing_account_id: str(choice.theme_id) for choice in chosen if str(choice.theme_id) in known}


def theme_choose(
    *, billing_account: BillingAccount, connection: XeroConnection, theme_id: str
) -> BrandingChoice | None:
    """Choose the theme (by its Xero id) of the account's documents in the link's organisation; "" for the
    organisation's default. A theme the organisation does not have is refused and changes nothing."""
    if not theme_id:
        BrandingChoice.objects.filter(billing_account=billing_account, tenant_id=connection.tenant_id).delete()
        return None
    theme = themes_by_id(connection).get(theme_id.lower())
    if theme is None:
        raise ValidationError(
            f"{connection.tenant_name} in Xero has no branding theme with the id {theme_id!r}: it may have been "
            "deleted in Xero. Choose one of its themes, or its default."
        )
    choice, _ = BrandingChoice.objects.update_or_create(
        billing_account=billing_account,
        tenant_id=connection.tenant_id,
        defaults={"theme_id": uuid.UUID(theme_id), "theme_name": theme["name"]},
    )
    return choice


def account_branding(billing_account: BillingAccount, connections: QuerySet[XeroConnection]) -> list[dict]:
    """Per linked organisation: its themes, the one chosen for the account, and whether that one is gone."""
    chosen = {
        choice.tenant_id: choice
        for choice in BrandingChoice.objects.filter(
            billing_account=billing_account, tenant_id__in=[c.tenant_id for c in connections]
        )
    }
    rows = []
    for connection in connections:
        choice = chosen.get(connection.tenant_id)
        themes = connection.branding_themes
        rows.append(
            {
                "connection": connection,
                "themes": themes,
                "default": themes[0]["name"] if themes else "",
                "chosen_id": str(choice.theme_id) if choice else "",
                "gone": choice.theme_name if choice and str(choice.theme_id) not in themes_by_id(connection) else "",
            }
        )
    return rows
