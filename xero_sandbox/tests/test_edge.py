"""Xero's edge, in front of the API: a request whose path and query are too long (URL-encoded) gets a
404 HTML page before authentication and rate limits — not a validation error, and not "no such record"."""

from urllib.parse import urlencode, urlsplit

import pytest
import urllib3
from xero_python.exceptions import NotFoundException

from xero_sandbox.edge import NOT_FOUND_PAGE
from xero_sandbox.models import RequestLog

from .conftest import connect


@pytest.fixture
def knobs(settings):
    def set_knobs(**values):
        settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, **values}

    return set_knobs


def contacts_url(sandbox_url, where: str) -> str:
    return f"{sandbox_url}/api.xro/2.0/Contacts?" + urlencode({"where": where})


def target_length(url: str) -> int:
    """What the edge measures: the path, `?` and query of the URL, as sent."""
    parts = urlsplit(url)
    return len(f"{parts.path}?{parts.query}")


def url_of_length(sandbox_url, length: int) -> str:
    """A contact look-up of exactly `length` characters that finds ACME01 (the name clause is padding)."""
    padding = "x" * (length - target_length(contacts_url(sandbox_url, 'AccountNumber=="ACME01" OR Name==""')))
    return contacts_url(sandbox_url, f'AccountNumber=="ACME01" OR Name=="{padding}"')


def account_numbers_where(count: int) -> str:
    """How the integration looks up many billing accounts in one call."""
    return " OR ".join(f'AccountNumber=="FREIGHT-CUSTOMER-{n:03d}"' for n in range(count))


def get(linked, url: str, **headers):
    headers = {"Authorization": f"Bearer {linked.access_token.token}", "xero-tenant-id": linked.tenant(), **headers}
    return urllib3.PoolManager(retries=False).request("GET", url, headers=headers)


def test_a_where_of_about_2100_encoded_characters_gets_the_edges_404_html_page(linked, sandbox_url):
    url = contacts_url(sandbox_url, account_numbers_where(42))
    assert 2050 < target_length(url) < 2150
    answer = get(linked, url)
    assert (answer.status, answer.headers["Content-Type"]) == (404, "text/html")
    assert "The resource you're looking for cannot be found" in answer.data.decode()
    assert answer.data.decode() == NOT_FOUND_PAGE


def test_the_sdk_reads_the_edges_answer_as_not_found(linked):
    with pytest.raises(NotFoundException):
        linked.api.get_contacts(linked.tenant(), where=account_numbers_where(42))


def test_a_request_at_the_limit_is_answered_and_one_character_more_is_not(linked, sandbox_url):
    at_limit, over = url_of_length(sandbox_url, 2050), url_of_length(sandbox_url, 2051)
    answer = get(linked, at_limit)
    assert answer.status == 200 and answer.json()["Contacts"][0]["AccountNumber"] == "ACME01"
    assert get(linked, over).status == 404


def test_the_knob_moves_the_limit(linked, sandbox_url, knobs):
    long_url = contacts_url(sandbox_url, account_numbers_where(42))
    knobs(EDGE_MAX_REQUEST_CHARS=5000)
    assert get(linked, long_url).status == 200
    knobs(EDGE_MAX_REQUEST_CHARS=120)
    assert get(linked, contacts_url(sandbox_url, account_numbers_where(3))).status == 404
    assert get(linked, f"{sandbox_url}/api.xro/2.0/TaxRates").status == 200


def test_the_edge_answers_before_authentication(orgs, sandbox_url):
    answer = urllib3.PoolManager(retries=False).request("GET", url_of_length(sandbox_url, 2100))
    assert (answer.status, answer.headers["Content-Type"]) == (404, "text/html")


def test_connections_are_behind_the_same_edge(linked, sandbox_url):
    url = f"{sandbox_url}/connections?" + urlencode({"authEventId": "x" * 2100})
    answer = urllib3.PoolManager(retries=False).request(
        "GET", url, headers={"Authorization": f"Bearer {linked.access_token.token}"}
    )
    assert (answer.status, answer.headers["Content-Type"]) == (404, "text/html")
    assert RequestLog.objects.get().target_length == target_length(url)


def test_every_logged_call_records_its_whole_encoded_length(linked, sandbox_url):
    short, long = contacts_url(sandbox_url, 'AccountNumber=="ACME01"'), url_of_length(sandbox_url, 2100)
    get(linked, short)
    get(linked, long)
    logged = {row.status_code: row for row in RequestLog.objects.all()}
    assert (logged[200].target_length, logged[404].target_length) == (target_length(short), 2100)
    assert len(logged[404].path) == 500  # the path is cut short; the length is not
    assert (logged[404].organisation, logged[404].app) == (linked.orgs["NZ"], None)


def test_the_edges_refusals_do_not_count_against_the_rate_limits(linked, sandbox_url, knobs):
    knobs(MINUTE_LIMIT=2, DAY_LIMIT=2)
    for _ in range(3):
        assert get(linked, url_of_length(sandbox_url, 2100)).status == 404
    answers = [get(linked, f"{sandbox_url}/api.xro/2.0/TaxRates") for _ in range(2)]
    assert [a.status for a in answers] == [200, 200]
    assert answers[0].headers["X-MinLimit-Remaining"] == "1"


def test_headers_do_not_count_towards_the_length(orgs, sandbox_url):
    """Only the request line's path and query are measured: a long access token is no problem."""
    access = connect(orgs)
    access.token = "t" * 1900
    access.save()
    headers = {"Authorization": f"Bearer {access.token}", "xero-tenant-id": str(orgs["NZ"].tenant_id)}
    answer = urllib3.PoolManager(retries=False).request("GET", f"{sandbox_url}/api.xro/2.0/TaxRates", headers=headers)
    assert answer.status == 200
