"""Which Xero contact each billing account's documents go to: remembered links first, then one bulk
lookup by Account Number (archived contacts included), then one bulk create for codes Xero lacks.
Nothing is guessed: an archived match or a name clash is a problem for a person to fix."""

from billing.models import BillingAccount

from . import client, pacing
from .models import ContactLink

LOOKUP_BATCH = 50
NUMBER_TAKEN = "Account Number already exists"


def resolve(*, access_token: str, tenant_id: str, accounts: list[BillingAccount]) -> tuple[dict, dict]:
    """(contact id by account pk, problem message by account pk)."""
    known = dict(
        ContactLink.objects.filter(tenant_id=tenant_id, billing_account__in=accounts)
        .values_list("billing_account_id", "contact_id")
    )
    contact_ids = {pk: str(contact_id) for pk, contact_id in known.items()}
    unknown = [account for account in accounts if account.pk not in known]
    problems = {}
    missing = []
    found = _lookup(access_token, tenant_id, [a.code for a in unknown])
    for account in unknown:
        matches = [c for c in found if c.account_number == account.code]  # exactly, case and spaces included
        if len(matches) > 1:
            problems[account.pk] = (f"Several Xero contacts have the Account Number {account.code}: "
                                    "keep it on one of them in Xero, then retry.")
        elif matches and matches[0].status != "ACTIVE":
            problems[account.pk] = (f"The Xero contact “{matches[0].name}” with Account Number {account.code} is "
                                    "archived: un-archive it in Xero (Contacts › Archived), then retry.")
        elif matches:
            contact_ids[account.pk] = _remember(account, tenant_id, matches[0].contact_id)
        else:
            missing.append(account)
    _create(access_token, tenant_id, missing, contact_ids, problems)
    return contact_ids, problems


def _lookup(access_token, tenant_id, codes: list[str]) -> list[client.XeroContact]:
    found = []
    for start in range(0, len(codes), LOOKUP_BATCH):
        with pacing.call(tenant_id):
            found += client.find_contacts(
                access_token=access_token, tenant_id=tenant_id, account_numbers=codes[start:start + LOOKUP_BATCH]
            )
    return found


def _create(access_token, tenant_id, accounts, contact_ids, problems) -> None:
    for start in range(0, len(accounts), LOOKUP_BATCH):
        batch = accounts[start:start + LOOKUP_BATCH]
        with pacing.call(tenant_id):
            answers = client.create_contacts(access_token=access_token, tenant_id=tenant_id, contacts=[
                {"name": account.name, "account_number": account.code, "email": account.email} for account in batch
            ])
        raced = []
        for account, (contact, messages) in zip(batch, answers):
            if contact:
                contact_ids[account.pk] = _remember(account, tenant_id, contact.contact_id)
            elif any(NUMBER_TAKEN in message for message in messages):
                raced.append(account)  # another worker created it a moment ago
            else:
                problems[account.pk] = _creation_problem(account, messages)
        _adopt(access_token, tenant_id, raced, contact_ids, problems)


def _adopt(access_token, tenant_id, accounts, contact_ids, problems) -> None:
    """Accounts whose contact appeared in Xero since the lookup: use it if it is exactly theirs."""
    if not accounts:
        return
    found = _lookup(access_token, tenant_id, [a.code for a in accounts])
    for account in accounts:
        matches = [c for c in found if c.account_number == account.code and c.status == "ACTIVE"]
        if len(matches) == 1:
            contact_ids[account.pk] = _remember(account, tenant_id, matches[0].contact_id)
        else:
            problems[account.pk] = (f"Xero says the Account Number {account.code} is already taken, but no active "
                                    "contact has it exactly: check the archived contacts in Xero.")


def _creation_problem(account: BillingAccount, messages: tuple[str, ...]) -> str:
    said = " ".join(messages)
    if "name" in said.lower() and "already" in said.lower():
        return (f"Xero refused to create the contact “{account.name}” for billing account {account.code}: "
                f"“{said}” Set that Xero contact's Account Number to {account.code}, or rename the billing "
                "account in the Address book, then retry.")
    return f"Xero refused to create the contact for billing account {account.code}: “{said}”"


def _remember(account: BillingAccount, tenant_id: str, contact_id: str) -> str:
    ContactLink.objects.update_or_create(
        billing_account=account, tenant_id=tenant_id, defaults={"contact_id": contact_id}
    )
    return contact_id
