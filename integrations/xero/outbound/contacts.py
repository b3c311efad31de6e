"""Which Xero contact each billing account's documents go to: remembered links first, then one bulk
lookup by Account Number (archived contacts included), then one bulk create for codes Xero lacks.
Nothing is guessed: an archived match or a name clash is a problem for a person to fix.

Only one worker at a time looks contacts up for an organisation (a lease on its CallPace row): parallel
workers holding batches with the same new customers would otherwise each look them up and race to
create them. The others wait for the lease, then find most of their customers already linked.
"""

import datetime
import time
from collections.abc import Callable
from contextlib import contextmanager

from django.db.models import Q
from django.utils import timezone

from billing.models import BillingAccount
from integrations.xero.api import pacing
from integrations.xero.api.xero_api import XeroApi
from integrations.xero.models import CallPace, ContactLink

LOOKUP_BATCH = 50
NUMBER_TAKEN = "Account Number already exists"
LEASE = datetime.timedelta(seconds=90)  # longer than a lookup and a create, even waiting for their slots
LEASE_POLL_SECONDS = 0.1


def contacts_resolve(
    *,
    api: XeroApi,
    accounts: list[BillingAccount],
    more_to_resolve: Callable[[list[BillingAccount], int], list[BillingAccount]] = lambda exclude, limit: [],
) -> tuple[dict, dict]:
    """(contact id by account pk, problem message by account pk).

    `more_to_resolve(exclude, limit)` names other accounts still unlinked that the same bulk calls
    should resolve while they are at it (saving later batches a lookup and a create each).
    """
    contact_ids, unknown = _known(api.tenant_id, accounts)
    if not unknown:
        return contact_ids, {}
    with _lease(api.tenant_id):
        contact_ids, unknown = _known(api.tenant_id, accounts)  # the last holder may have linked them
        if not unknown:
            return contact_ids, {}
        extra = more_to_resolve(unknown, LOOKUP_BATCH - len(unknown))
        problems = _resolve_unknown(api, unknown + extra, contact_ids)
    return contact_ids, problems


def _known(tenant_id: str, accounts: list[BillingAccount]) -> tuple[dict, list[BillingAccount]]:
    known = dict(
        ContactLink.objects.filter(tenant_id=tenant_id, billing_account__in=accounts).values_list(
            "billing_account_id", "contact_id"
        )
    )
    return {pk: str(contact_id) for pk, contact_id in known.items()}, [a for a in accounts if a.pk not in known]


@contextmanager
def _lease(tenant_id: str):
    pacing.ensure_row(tenant_id)
    while True:
        now = timezone.now()
        free = Q(contacts_lease_until__isnull=True) | Q(contacts_lease_until__lt=now)
        if CallPace.objects.filter(free, tenant_id=tenant_id).update(contacts_lease_until=now + LEASE):
            break
        time.sleep(LEASE_POLL_SECONDS)
    try:
        yield
    finally:
        CallPace.objects.filter(tenant_id=tenant_id).update(contacts_lease_until=None)


def _resolve_unknown(api: XeroApi, unknown: list[BillingAccount], contact_ids: dict) -> dict:
    problems = {}
    missing = []
    found = api.find_contacts([a.code for a in unknown])
    for account in unknown:
        matches = [c for c in found.items if c.account_number == account.code]  # exactly, case and spaces included
        if account.code in found.refused:
            problems[account.pk] = (
                f"Xero could not look up the Account Number {account.code}: "
                f"“{found.refused[account.code]}” Change the billing account code in the "
                "Address book (letters, digits and dashes are always safe), then retry."
            )
        elif len(matches) > 1:
            problems[account.pk] = (
                f"Several Xero contacts have the Account Number {account.code}: "
                "keep it on one of them in Xero, then retry."
            )
        elif matches and matches[0].status != "ACTIVE":
            problems[account.pk] = (
                f"The Xero contact “{matches[0].name}” with Account Number {account.code} is "
                "archived: un-archive it in Xero (Contacts › Archived), then retry."
            )
        elif matches:
            contact_ids[account.pk] = _remember(account, api.tenant_id, matches[0].contact_id)
        else:
            missing.append(account)
    _create(api, missing, contact_ids, problems)
    return problems


def _create(api: XeroApi, accounts, contact_ids, problems) -> None:
    for start in range(0, len(accounts), LOOKUP_BATCH):
        batch = accounts[start : start + LOOKUP_BATCH]
        answers = api.create_contacts(
            [{"name": account.name, "account_number": account.code, "email": account.email} for account in batch]
        )
        raced = []
        # Xero answers each contact sent, in order; an account its answer leaves out gets no contact now
        # and its documents are tried again in a later round.
        for account, (contact, messages) in zip(batch, answers, strict=False):
            if contact:
                contact_ids[account.pk] = _remember(account, api.tenant_id, contact.contact_id)
            elif not messages or any(NUMBER_TAKEN in message for message in messages):
                # Another worker created it a moment ago; or Xero created it but its answer could not
                # be read: either way, look it up.
                raced.append(account)
            else:
                problems[account.pk] = _creation_problem(account, messages)
        _adopt(api, raced, contact_ids, problems)


def _adopt(api: XeroApi, accounts, contact_ids, problems) -> None:
    """Accounts whose contact appeared in Xero since the lookup: use it if it is exactly theirs."""
    if not accounts:
        return
    found = api.find_contacts([a.code for a in accounts])
    for account in accounts:
        matches = [c for c in found.items if c.account_number == account.code and c.status == "ACTIVE"]
        if len(matches) == 1:
            contact_ids[account.pk] = _remember(account, api.tenant_id, matches[0].contact_id)
        else:
            problems[account.pk] = _number_taken_problem(account, found.items)


def _number_taken_problem(account: BillingAccount, found: list) -> str:
    """Xero refused the new contact's Account Number as taken: name the contact that has it, and what differs."""
    namesakes = [c for c in found if c.account_number.casefold() == account.code.casefold()]
    if not namesakes:
        return (
            f"Xero says the Account Number {account.code} is already taken, but no contact it lists has it, even "
            "ignoring case (a contact deleted in Xero may keep it): find it in Xero, or change the billing "
            "account code in the Address book, then retry."
        )
    contact = namesakes[0]
    if contact.account_number == account.code:
        return (
            f"Xero's contact “{contact.name}” has the Account Number {account.code} and is "
            f"{contact.status.lower() or 'not active'} in Xero: un-archive it (Contacts › Archived), then retry."
        )
    return (
        f"Xero's contact “{contact.name}” has the Account Number {contact.account_number}, which differs from the "
        f"billing account code {account.code} only in case: Xero takes them for the same number. Make the two "
        "identical (in Xero, or in the Address book), then retry."
    )


def _creation_problem(account: BillingAccount, messages: tuple[str, ...]) -> str:
    said = " ".join(messages)
    if "name" in said.lower() and "already" in said.lower():
        return (
            f"Xero refused to create the contact “{account.name}” for billing account {account.code}: "
            f"“{said}” Set that Xero contact's Account Number to {account.code}, or rename the billing "
            "account in the Address book, then retry."
        )
    return f"Xero refused to create the contact for billing account {account.code}: “{said}”"


def _remember(account: BillingAccount, tenant_id: str, contact_id: str) -> str:
    ContactLink.objects.update_or_create(
        billing_account=account, tenant_id=tenant_id, defaults={"contact_id": contact_id}
    )
    return contact_id
