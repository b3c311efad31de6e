"""What stands in front of every Accounting API call: limits, their headers, faults, the request log."""

import json
import threading
from datetime import timedelta

import pytest
import urllib3
from django.utils import timezone
from xero_python.accounting import Contact, Contacts
from xero_python.exceptions import AccountingBadRequestException, HTTPStatusException, RateLimitException

from xero_sandbox.models import Fault, RequestLog

from .conftest import connect

AUTHORIZATION_UNSUCCESSFUL = {
    "Type": None,
    "Title": "Unauthorized",
    "Status": 401,
    "Detail": "AuthorizationUnsuccessful",
}


@pytest.fixture
def limits(settings):
    def set_limits(**knobs):
        settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, **knobs}

    return set_limits


def last_headers(linked):
    return linked.api.api_client.last_response.getheaders()


def test_every_answer_says_how_many_calls_remain(linked, limits):
    limits(MINUTE_LIMIT=10, DAY_LIMIT=100)
    linked.api.get_tax_rates(linked.tenant())
    linked.api.get_tax_rates(linked.tenant())
    headers = last_headers(linked)
    assert (headers["X-MinLimit-Remaining"], headers["X-DayLimit-Remaining"]) == ("8", "98")
    assert "X-AppMinLimit-Remaining" in headers


def test_past_the_minute_limit_calls_get_429_with_retry_after_and_the_problem(linked, limits):
    limits(MINUTE_LIMIT=2, MINUTE_SECONDS=30)
    for _ in range(2):
        linked.api.get_tax_rates(linked.tenant())
    with pytest.raises(RateLimitException) as error:
        linked.api.get_tax_rates(linked.tenant())
    assert error.value.headers["X-Rate-Limit-Problem"] == "minute"
    assert error.value.headers["Retry-After"] == "30"
    assert RequestLog.objects.filter(status_code=429, rate_limit_problem="minute").count() == 1


def test_the_limit_is_per_organisation(linked, limits):
    limits(MINUTE_LIMIT=1)
    linked.api.get_tax_rates(linked.tenant("NZ"))
    linked.api.get_tax_rates(linked.tenant("GB"))  # another organisation's minute is untouched
    with pytest.raises(RateLimitException):
        linked.api.get_tax_rates(linked.tenant("NZ"))


def test_calls_refused_with_429_do_not_count_against_the_limit(linked, limits):
    limits(MINUTE_LIMIT=1)
    linked.api.get_tax_rates(linked.tenant())
    for _ in range(3):
        with pytest.raises(RateLimitException):
            linked.api.get_tax_rates(linked.tenant())
    assert RequestLog.objects.exclude(status_code=429).count() == 1


def test_the_day_limit_answers_429_day(linked, limits):
    limits(DAY_LIMIT=1)
    linked.api.get_tax_rates(linked.tenant())
    with pytest.raises(RateLimitException) as error:
        linked.api.get_tax_rates(linked.tenant())
    assert error.value.headers["X-Rate-Limit-Problem"] == "day"


def test_on_xeros_starter_tier_the_1001st_call_of_a_day_is_refused(linked, limits):
    limits(DAY_LIMIT=1000)
    earlier = RequestLog.objects.bulk_create(
        RequestLog(
            organisation=linked.orgs["NZ"],
            app=linked.access_token.grant.app,
            method="GET",
            path="/api.xro/2.0/TaxRates",
            status_code=200,
        )
        for _ in range(999)
    )
    # Spread over the day, so that the minute's limit is not what stops them.
    RequestLog.objects.filter(pk__in=[row.pk for row in earlier]).update(at=timezone.now() - timedelta(hours=3))
    linked.api.get_tax_rates(linked.tenant())  # the 1,000th
    assert last_headers(linked)["X-DayLimit-Remaining"] == "0"
    with pytest.raises(RateLimitException) as error:
        linked.api.get_tax_rates(linked.tenant())
    assert error.value.headers["X-Rate-Limit-Problem"] == "day"


def test_more_calls_in_flight_than_allowed_get_429_concurrent(linked, sandbox_url, limits):
    limits(CONCURRENT_LIMIT=2)
    Fault.objects.create(organisation=linked.orgs["NZ"], kind=Fault.Kind.SLOW, delay_seconds=0.6)
    http = urllib3.PoolManager(maxsize=6, retries=False)
    headers = {"Authorization": f"Bearer {linked.access_token.token}", "xero-tenant-id": linked.tenant()}
    answers = []

    def call():
        answer = http.request("GET", f"{sandbox_url}/api.xro/2.0/TaxRates", headers=headers)
        answers.append((answer.status, answer.headers.get("X-Rate-Limit-Problem")))

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert (429, "concurrent") in answers
    assert sum(1 for status, _ in answers if status == 200) >= 2


def test_an_injected_500_is_answered_and_used_up(linked):
    Fault.objects.create(organisation=linked.orgs["NZ"], kind=Fault.Kind.ERROR_BEFORE_COMMIT, remaining=1)
    with pytest.raises(HTTPStatusException) as error:
        linked.api.get_tax_rates(linked.tenant())
    assert error.value.status == 500
    assert linked.api.get_tax_rates(linked.tenant()).tax_rates  # the fault had one use
    assert Fault.objects.get().remaining == 0


def test_an_injected_429_looks_like_xeros(linked):
    Fault.objects.create(organisation=linked.orgs["NZ"], kind=Fault.Kind.RATE_LIMIT, remaining=1)
    with pytest.raises(RateLimitException) as error:
        linked.api.get_tax_rates(linked.tenant())
    assert error.value.headers["X-Rate-Limit-Problem"] == "minute"


def test_a_fault_can_target_one_path_and_method(linked):
    Fault.objects.create(
        organisation=linked.orgs["NZ"], kind=Fault.Kind.ERROR_BEFORE_COMMIT, method="GET", path_contains="/Accounts"
    )
    assert linked.api.get_tax_rates(linked.tenant()).tax_rates
    with pytest.raises(HTTPStatusException):
        linked.api.get_accounts(linked.tenant())


def raw_call(sandbox_url, token: str, tenant: str, method: str, path: str, body=None):
    headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": tenant, "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    return urllib3.PoolManager(retries=False).request(
        method, f"{sandbox_url}/api.xro/2.0{path}", body=data, headers=headers
    )


def test_an_injected_html_400_is_the_edges_page_and_writes_nothing(linked, sandbox_url):
    Fault.objects.create(organisation=linked.orgs["NZ"], kind=Fault.Kind.HTML_400, method="PUT", remaining=1)
    answer = raw_call(
        sandbox_url,
        linked.access_token.token,
        linked.tenant(),
        "PUT",
        "/Contacts",
        {"Contacts": [{"Name": "Html Ltd"}]},
    )
    assert (answer.status, answer.headers["Content-Type"]) == (400, "text/html")
    assert answer.data == b"<html><body><h1>Bad Request</h1></body></html>\n"
    assert not linked.orgs["NZ"].contacts.filter(name="Html Ltd").exists()
    assert RequestLog.objects.get().fault == "html_400"


def test_the_sdk_cannot_decode_an_html_400(linked):
    Fault.objects.create(organisation=linked.orgs["NZ"], kind=Fault.Kind.HTML_400, remaining=1)
    with pytest.raises(AccountingBadRequestException) as error:
        linked.api.create_contacts(linked.tenant(), new_contacts("Html Ltd"))
    with pytest.raises(ValueError):
        error.value.error_data  # noqa: B018 (reading it is what fails)


def test_an_injected_401_is_authorization_unsuccessful_and_writes_nothing(linked, sandbox_url):
    Fault.objects.create(organisation=linked.orgs["NZ"], kind=Fault.Kind.AUTH_401, remaining=1)
    answer = raw_call(
        sandbox_url,
        linked.access_token.token,
        linked.tenant(),
        "PUT",
        "/Contacts",
        {"Contacts": [{"Name": "Denied Ltd"}]},
    )
    assert answer.status == 401
    assert json.loads(answer.data).items() >= AUTHORIZATION_UNSUCCESSFUL.items()
    assert not linked.orgs["NZ"].contacts.filter(name="Denied Ltd").exists()


@pytest.mark.parametrize(
    "scopes, method, path",
    [
        ("offline_access accounting.invoices accounting.settings.read", "GET", "/Contacts"),
        ("offline_access accounting.contacts.read accounting.invoices", "PUT", "/Contacts"),
        ("offline_access accounting.contacts accounting.settings", "GET", "/Invoices"),
        ("offline_access accounting.invoices.read accounting.contacts", "PUT", "/Invoices"),
        ("offline_access accounting.contacts accounting.settings", "GET", "/CreditNotes"),
        ("offline_access accounting.contacts accounting.settings", "PUT", "/Payments"),
        ("offline_access accounting.transactions.read", "PUT", "/CreditNotes/CN-1/Allocations"),
        ("offline_access accounting.invoices accounting.contacts", "GET", "/Accounts"),
        ("offline_access accounting.invoices accounting.contacts", "GET", "/TaxRates"),
        ("offline_access accounting.invoices accounting.contacts", "GET", "/Organisation"),
    ],
)
def test_a_token_without_the_endpoints_scope_is_authorization_unsuccessful(orgs, sandbox_url, scopes, method, path):
    access = connect(orgs, scopes=scopes)
    body = None if method == "GET" else {"Contacts": [{"Name": "Scoped Ltd"}]}
    answer = raw_call(sandbox_url, access.token, str(orgs["NZ"].tenant_id), method, path, body)
    assert answer.status == 401
    assert json.loads(answer.data).items() >= AUTHORIZATION_UNSUCCESSFUL.items()
    assert not orgs["NZ"].contacts.filter(name="Scoped Ltd").exists()


@pytest.mark.parametrize(
    "scopes, method, path",
    [
        ("offline_access accounting.contacts.read", "GET", "/Contacts"),
        ("offline_access accounting.transactions accounting.contacts", "GET", "/Invoices"),  # an older app
        ("offline_access accounting.transactions.read", "GET", "/CreditNotes"),
        ("offline_access accounting.invoices.read", "GET", "/Payments"),
        ("offline_access accounting.settings", "GET", "/Accounts"),
        ("offline_access accounting.settings.read", "GET", "/Organisation"),
    ],
)
def test_a_token_with_the_endpoints_scope_or_its_read_variant_gets_in(orgs, sandbox_url, scopes, method, path):
    access = connect(orgs, scopes=scopes)
    assert raw_call(sandbox_url, access.token, str(orgs["NZ"].tenant_id), method, path).status == 200


def test_the_platforms_own_scopes_open_every_endpoint_it_uses(linked, sandbox_url):
    token, tenant = linked.access_token.token, linked.tenant()
    for path in ("/Contacts", "/Invoices", "/CreditNotes", "/Payments", "/Accounts", "/TaxRates", "/Organisation"):
        assert raw_call(sandbox_url, token, tenant, "GET", path).status == 200, path
    body = {"Contacts": [{"Name": "Scoped Ltd"}]}
    assert raw_call(sandbox_url, token, tenant, "PUT", "/Contacts", body).status == 200


def test_a_dropped_connection_breaks_the_answer_mid_way(linked, sandbox_url):
    Fault.objects.create(organisation=linked.orgs["NZ"], kind=Fault.Kind.DROP, remaining=1)
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(read=10))
    headers = {"Authorization": f"Bearer {linked.access_token.token}", "xero-tenant-id": linked.tenant()}
    with pytest.raises(urllib3.exceptions.ProtocolError, match="RemoteDisconnected|Connection aborted"):
        http.request("GET", f"{sandbox_url}/api.xro/2.0/TaxRates", headers=headers)


def test_a_slow_answer_trips_a_client_timeout(linked, sandbox_url):
    Fault.objects.create(organisation=linked.orgs["NZ"], kind=Fault.Kind.SLOW, delay_seconds=1.0, remaining=1)
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(read=0.3))
    headers = {"Authorization": f"Bearer {linked.access_token.token}", "xero-tenant-id": linked.tenant()}
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        http.request("GET", f"{sandbox_url}/api.xro/2.0/TaxRates", headers=headers)


def test_a_call_without_a_bearer_token_is_401_and_logged(sandbox_url, orgs):
    answer = urllib3.PoolManager().request("GET", f"{sandbox_url}/api.xro/2.0/Accounts")
    assert answer.status == 401
    assert RequestLog.objects.get().status_code == 401


def test_an_unknown_resource_is_404(linked, sandbox_url):
    headers = {"Authorization": f"Bearer {linked.access_token.token}", "xero-tenant-id": linked.tenant()}
    answer = urllib3.PoolManager().request("GET", f"{sandbox_url}/api.xro/2.0/Nonsense", headers=headers)
    assert answer.status == 404


def test_paths_ignore_case_as_xeros_do(linked, sandbox_url):
    headers = {"Authorization": f"Bearer {linked.access_token.token}", "xero-tenant-id": linked.tenant()}
    answer = urllib3.PoolManager().request("GET", f"{sandbox_url}/api.xro/2.0/taxrates", headers=headers)
    assert answer.status == 200


def new_contacts(*names):
    return Contacts(contacts=[Contact(name=name, account_number=name.upper()[:8]) for name in names])


def test_a_repeated_idempotency_key_replays_the_first_answer_without_writing_again(linked):
    first = linked.api.create_contacts(linked.tenant(), new_contacts("Repeat Ltd"), idempotency_key="key-1")
    again = linked.api.create_contacts(linked.tenant(), new_contacts("Repeat Ltd"), idempotency_key="key-1")
    assert again.contacts[0].contact_id == first.contacts[0].contact_id
    assert linked.orgs["NZ"].contacts.filter(name="Repeat Ltd").count() == 1


def test_an_idempotency_key_reused_with_another_body_is_refused(linked):
    linked.api.create_contacts(linked.tenant(), new_contacts("First Ltd"), idempotency_key="key-2")
    with pytest.raises(AccountingBadRequestException):
        linked.api.create_contacts(linked.tenant(), new_contacts("Second Ltd"), idempotency_key="key-2")
    assert not linked.orgs["NZ"].contacts.filter(name="Second Ltd").exists()


def test_an_idempotency_key_expires_after_its_window(linked, limits):
    limits(IDEMPOTENCY_SECONDS=0)
    linked.api.create_contacts(linked.tenant(), new_contacts("Window Ltd"), idempotency_key="key-3")
    with pytest.raises(AccountingBadRequestException):  # a plain second create: the name is taken
        linked.api.create_contacts(linked.tenant(), new_contacts("Window Ltd"), idempotency_key="key-3")


def test_a_429_is_decided_before_the_idempotency_key_is_recorded(linked):
    Fault.objects.create(organisation=linked.orgs["NZ"], kind=Fault.Kind.RATE_LIMIT, remaining=1)
    with pytest.raises(RateLimitException):
        linked.api.create_contacts(linked.tenant(), new_contacts("Later Ltd"), idempotency_key="key-4")
    created = linked.api.create_contacts(linked.tenant(), new_contacts("Later Ltd"), idempotency_key="key-4")
    assert created.contacts[0].name == "Later Ltd"


def test_a_500_after_commit_leaves_the_write_done_though_the_caller_saw_an_error(linked):
    Fault.objects.create(organisation=linked.orgs["NZ"], kind=Fault.Kind.ERROR_AFTER_COMMIT, method="PUT", remaining=1)
    with pytest.raises(HTTPStatusException) as error:
        linked.api.create_contacts(linked.tenant(), new_contacts("Ghost Ltd"))
    assert error.value.status == 500
    assert linked.orgs["NZ"].contacts.filter(name="Ghost Ltd").exists()


def test_a_500_before_commit_writes_nothing(linked):
    Fault.objects.create(organisation=linked.orgs["NZ"], kind=Fault.Kind.ERROR_BEFORE_COMMIT, method="PUT", remaining=1)
    with pytest.raises(HTTPStatusException):
        linked.api.create_contacts(linked.tenant(), new_contacts("Never Ltd"))
    assert not linked.orgs["NZ"].contacts.filter(name="Never Ltd").exists()
