"""Linking the platform to a Xero organisation: LINK TO MY ACCOUNT, the callback, choosing among
several organisations, re-linking, disconnecting, and loading the organisation's reference data."""

import datetime
import json
import logging
import secrets
import uuid
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from billing.models import Company
from integrations.xero.api import oauth, values
from integrations.xero.api.errors import Paused, XeroError
from integrations.xero.api.xero_api import XeroApi, xero_api_for
from integrations.xero.link import crypto
from integrations.xero.link.tokens import access_token_for
from integrations.xero.models import XeroConnection

logger = logging.getLogger(__name__)

STATE_KEY = "xero_oauth_state"
PENDING_KEY = "xero_pending_link"
COMPANY_KEY = "xero_link_company"  # the company whose card's LINK TO MY ACCOUNT started the link


class StateMismatch(Exception):
    """The callback's `state` is missing or not the one this session started with."""


@dataclass
class LinkOutcome:
    connection: XeroConnection | None = None
    replaced: XeroConnection | None = None  # the link to another organisation that this one replaced
    cancelled: bool = False
    choices: list[values.Tenant] = field(default_factory=list)
    also: list["LinkOutcome"] = field(default_factory=list)  # more companies linked by the same consent


def link_start(*, session, company: Company) -> str:
    """Remember a fresh single-use state and the company being linked in the session; return Xero's
    consent URL."""
    state = secrets.token_urlsafe(32)
    session[STATE_KEY], session[COMPANY_KEY] = state, company.pk
    return oauth.authorize_url(state=state)


def link_company(*, session) -> Company:
    """The company the link in progress is for (the default company for a link started before companies)."""
    return Company.objects.filter(pk=session.get(COMPANY_KEY)).first() or Company.objects.default()


def link_callback(*, session, params, user) -> LinkOutcome:
    # Used up only by its own answer: a forged or stray callback (a cross-site link, say) is refused and
    # leaves the person's link in progress as it was.
    expected = session.get(STATE_KEY)
    if not expected or not constant_time_compare(expected, params.get("state", "")):
        raise StateMismatch("This link request did not start here, or was already used.")
    del session[STATE_KEY]
    if params.get("error") == "access_denied":
        return LinkOutcome(cancelled=True)
    if params.get("error") or not params.get("code"):
        raise XeroError(
            f"Xero did not complete the link ({params.get('error') or 'no code returned'}).", permanent=True
        )
    tokens = oauth.exchange_code(code=params["code"])
    tenants = [
        tenant
        for tenant in oauth.list_connections(access_token=tokens.access_token, auth_event_id=tokens.auth_event_id)
        if tenant.tenant_type == "ORGANISATION"
    ]
    if not tenants:
        raise XeroError("No organisation was picked on Xero's page: link again and pick one.", permanent=True)
    if len(tenants) == 1:
        company = link_company(session=session)
        return link_tenant(tokens=tokens, tenant=tenants[0], user=user, company=company, grant_id=uuid.uuid4())
    session[PENDING_KEY] = {"tokens": crypto.encrypt(_tokens_json(tokens)), "tenants": [asdict(t) for t in tenants]}
    return LinkOutcome(choices=tenants)


def link_pending_choices(*, session) -> list[values.Tenant]:
    pending = session.get(PENDING_KEY)
    return [values.Tenant(**tenant) for tenant in pending["tenants"]] if pending else []


def link_choose(*, session, books: dict[str, Company], user) -> LinkOutcome:
    """Link each organisation picked among several to the company it books (tenant id → company), sharing the
    consent's tokens; let go of the others picked on Xero's page. A choice that cannot be is refused before
    anything changes, and the choice stays open to correct."""
    pending = session.get(PENDING_KEY)
    if not pending:
        raise XeroError("That choice has expired: press LINK TO MY ACCOUNT again.", permanent=True)
    tenants = [values.Tenant(**tenant) for tenant in pending["tenants"]]
    chosen = _chosen(tenants, books)
    del session[PENDING_KEY]
    tokens, grant_id = _tokens_from_json(crypto.decrypt(pending["tokens"])), uuid.uuid4()
    # Reading an organisation's chart of accounts, tax rates and currencies takes seconds at its pace of a call
    # a second: the person waits for the first organisation's only (its set-up check comes next); the others
    # are read in the background, or a consent granting fifty would hold the page for minutes.
    outcomes = [
        link_tenant(
            tokens=tokens,
            tenant=tenant,
            user=user,
            company=company,
            grant_id=grant_id,
            wait_for_reference_data=index == 0,
        )
        for index, (tenant, company) in enumerate(chosen)
    ]
    _release(tokens, [tenant for tenant in tenants if tenant.tenant_id not in books])
    outcomes[0].also = outcomes[1:]
    return outcomes[0]


def _chosen(tenants: list[values.Tenant], books: dict[str, Company]) -> list[tuple[values.Tenant, Company]]:
    by_id = {tenant.tenant_id: tenant for tenant in tenants}
    if not books or any(tenant_id not in by_id for tenant_id in books):
        raise XeroError("Pick one of the organisations listed.", permanent=True)
    companies = list(books.values())
    twice = next((company for company in companies if companies.count(company) > 1), None)
    if twice is not None:
        raise XeroError(f"{twice} can book one Xero organisation: pick one for it.", permanent=True)
    chosen = [(by_id[tenant_id], company) for tenant_id, company in books.items()]
    for tenant, company in chosen:
        _refuse_if_booking_another_company(tenant, company)
    return chosen


def link_tenant(
    *,
    tokens: values.TokenSet,
    tenant: values.Tenant,
    user,
    company: Company,
    grant_id: uuid.UUID,
    wait_for_reference_data: bool = True,
) -> LinkOutcome:
    """Link `company` to the organisation, and read its reference data before returning, or else in the
    background."""
    _refuse_if_booking_another_company(tenant, company)
    organisation = XeroApi.for_consent(tenant_id=tenant.tenant_id, access_token=tokens.access_token).read_organisation()
    old_access = _access_to_let_go(tenant, company)
    now = timezone.now()
    with transaction.atomic():
        previous = XeroConnection.objects.select_for_update().current(company)
        replaced = previous if previous and str(previous.tenant_id) != tenant.tenant_id else None
        if replaced:
            _forget(replaced)
        connection = (
            previous if previous and not replaced else XeroConnection(tenant_id=tenant.tenant_id, company=company)
        )
        connection.connection_id = tenant.connection_id
        connection.tenant_name = organisation.name
        connection.country_code, connection.base_currency = organisation.country_code, organisation.base_currency
        connection.scopes = tokens.scopes
        connection.access_token, connection.refresh_token = tokens.access_token, tokens.refresh_token
        connection.access_token_expires_at, connection.grant_id = tokens.expires_at, grant_id
        connection.status = XeroConnection.Status.ACTIVE
        connection.linked_by, connection.linked_at = user, now
        connection.refreshed_at = connection.last_success_at = now
        connection.last_error, connection.last_error_at = "", None
        connection.save()
    if replaced:
        _let_go(replaced, old_access, fallback_token=tokens.access_token)
    if wait_for_reference_data:
        reference_data_load(connection=connection)
    else:
        _reference_data_load_later(connection)
    return LinkOutcome(connection=connection, replaced=replaced)


def _refuse_if_booking_another_company(tenant: values.Tenant, company: Company) -> None:
    other = XeroConnection.objects.for_tenant(tenant.tenant_id)
    if other is not None and other.company_id != company.pk:
        raise XeroError(
            f"The Xero organisation {other.tenant_name} already books {other.company}: one organisation books one "
            f"company. Pick {company}'s own organisation on Xero's page, or disconnect it from {other.company} first.",
            permanent=True,
        )


def _access_to_let_go(tenant: values.Tenant, company: Company) -> str:
    """The company's current link's access token when the new link is to another organisation (read before
    the link is replaced, which forgets its tokens); "" when there is nothing to let go of."""
    previous = XeroConnection.objects.current(company)
    if (
        previous is None
        or str(previous.tenant_id) == tenant.tenant_id
        or previous.status == XeroConnection.Status.DISCONNECTED
    ):
        return ""
    try:
        return access_token_for(previous)
    except XeroError:
        return ""  # Xero no longer accepts that link: the new one's token is tried instead


def _let_go(replaced: XeroConnection, access_token: str, *, fallback_token: str) -> None:
    """Remove the app's connection to the organisation linked before, or its webhooks keep coming and it
    keeps counting against the app's connections."""
    for token in [t for t in dict.fromkeys([access_token, fallback_token]) if t]:
        try:
            oauth.delete_connection(access_token=token, connection_id=str(replaced.connection_id))
            return
        except XeroError as error:
            logger.warning("Could not remove the connection in Xero to %s: %s", replaced.tenant_name, error.message)


def connection_disconnect(*, connection: XeroConnection) -> None:
    """Remove the app's access in Xero (when Xero can still be told), then forget the tokens."""
    try:
        xero_api_for(connection).delete_connection()
    except XeroError as error:
        logger.warning("Could not remove the connection in Xero for %r: %s", connection, error.message)
    with transaction.atomic():
        _forget(XeroConnection.objects.select_for_update().get(pk=connection.pk))


def reference_data_load(*, connection: XeroConnection) -> None:
    """Read and keep the organisation's reference data; a failure is noted on the link, not raised."""
    try:
        reference_data_refresh(connection=connection)
    except Paused:
        return  # the Add Ons page says why; the caches are read again once sending resumes
    except XeroError as error:
        connection_record_failure(connection=connection, error=error)


def _reference_data_load_later(connection: XeroConnection) -> None:
    from integrations.xero import tasks  # tasks import the sync, which imports this module

    try:
        tasks.load_reference_data.delay(connection.pk)
    except Exception:  # the broker is down: the first send reads them instead (they count as stale)
        logger.warning("Could not queue reading the reference data of %r; the first send reads it", connection)


def reference_data_refresh(*, connection: XeroConnection) -> None:
    """Read the organisation's chart of accounts, tax rates, enabled currencies, tracking categories and branding
    themes again, at
    Xero's pace (they count against the same limits), into the caches and `connection`."""
    api = xero_api_for(connection)
    accounts, tax_rates, currencies = api.read_accounts(), api.read_tax_rates(), api.read_currencies()
    tracking, themes = api.read_tracking_categories(), api.read_branding_themes()
    XeroConnection.objects.filter(pk=connection.pk).update(
        chart_of_accounts=accounts,
        tax_rates=tax_rates,
        currencies=currencies,
        tracking_categories=tracking,
        branding_themes=themes,
        reference_data_loaded_at=timezone.now(),  # the calls themselves noted that Xero answered (xero_api.py)
    )
    connection.refresh_from_db()


def reference_data_stale(connection: XeroConnection) -> bool:
    loaded = connection.reference_data_loaded_at
    return loaded is None or timezone.now() - loaded > datetime.timedelta(seconds=settings.XERO_REFERENCE_DATA_SECONDS)


def connection_record_failure(*, connection: XeroConnection, error: XeroError) -> None:
    XeroConnection.objects.filter(pk=connection.pk).update(last_error=error.message, last_error_at=timezone.now())


def _forget(connection: XeroConnection) -> None:
    connection.status = XeroConnection.Status.DISCONNECTED
    connection.access_token_encrypted = connection.refresh_token_encrypted = ""
    connection.access_token_expires_at = None
    connection.save()


def _release(tokens: values.TokenSet, tenants: list[values.Tenant]) -> None:
    """Let go of organisations granted but not chosen, except those another company's link books."""
    booked = {str(tenant_id) for tenant_id in XeroConnection.objects.live().values_list("tenant_id", flat=True)}
    for tenant in [tenant for tenant in tenants if tenant.tenant_id not in booked]:
        try:
            oauth.delete_connection(access_token=tokens.access_token, connection_id=tenant.connection_id)
        except XeroError as error:
            logger.warning("Could not release the unused Xero connection to %s: %s", tenant.tenant_name, error.message)


def _tokens_json(tokens: values.TokenSet) -> str:
    return json.dumps({**asdict(tokens), "expires_at": tokens.expires_at.isoformat()})


def _tokens_from_json(text: str) -> values.TokenSet:
    data = json.loads(text)
    return values.TokenSet(**{**data, "expires_at": datetime.datetime.fromisoformat(data["expires_at"])})
