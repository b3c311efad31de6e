"""The sandbox's Contacts endpoints, driven as the integration drives them: through xero-python.
Reading, and the answers against Xero's specification, here; creating and updating in
test_contacts_api_writes.py."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import urllib3
from xero_python.exceptions import NotFoundException

from xero_sandbox.models import Contact

from .openapi_specs import load


def stored(org, **filters) -> Contact:
    return Contact.objects.get(organisation=org, **filters)


def raw(linked, sandbox_url, method, path, body=None, tenant="NZ"):
    """A request the SDK would refuse to send (it checks lengths itself), as another client sends it."""
    answer = urllib3.PoolManager(retries=False).request(
        method,
        f"{sandbox_url}/api.xro/2.0{path}",
        body=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {linked.access_token.token}",
            "xero-tenant-id": linked.tenant(tenant),
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
    )
    return answer.status, json.loads(answer.data)


# --- reading -------------------------------------------------------------------------------------


def test_a_contact_is_found_by_its_account_number(linked):
    found = linked.api.get_contacts(linked.tenant(), where='AccountNumber=="ACME01"').contacts
    assert [(c.name, c.account_number, c.contact_status) for c in found] == [("Acme Imports Ltd", "ACME01", "ACTIVE")]


def test_many_account_numbers_are_looked_up_in_one_call(linked):
    # As many as fit in Xero's edge limit on the request's length (about 2,050 characters, URL-encoded).
    codes = ["HARB-7", "ACME01"] + [f"MISSING{n:03}" for n in range(45)]
    where = " OR ".join(f'AccountNumber=="{code}"' for code in codes)
    found = linked.api.get_contacts(linked.tenant(), where=where).contacts
    assert [c.account_number for c in found] == ["ACME01", "HARB-7"]


def test_where_reads_guids_text_methods_and_quoted_keywords(linked, orgs):
    kiwi = stored(orgs["NZ"], name="Kiwi Traders")
    by_guid = linked.api.get_contacts(linked.tenant(), where=f'ContactID==Guid("{kiwi.contact_id}")').contacts
    by_text = linked.api.get_contacts(linked.tenant(), where='Name.Contains("TRADERS") || Name=="Acme AND Co"').contacts
    assert [c.name for c in by_guid] == [c.name for c in by_text] == ["Kiwi Traders"]


def test_archived_contacts_are_left_out_unless_include_archived(linked):
    where = 'AccountNumber=="BLUEFIN"'
    assert linked.api.get_contacts(linked.tenant(), where=where).contacts == []
    found = linked.api.get_contacts(linked.tenant(), where=where, include_archived=True).contacts
    assert [(c.name, c.contact_status) for c in found] == [("Bluefin Seafoods Ltd", "ARCHIVED")]


def test_contacts_asked_for_by_id_leave_archived_ones_out_unless_included(linked, orgs):
    acme, bluefin = stored(orgs["NZ"], account_number="ACME01"), stored(orgs["NZ"], account_number="BLUEFIN")
    ids = [str(acme.contact_id), str(bluefin.contact_id)]
    plain = linked.api.get_contacts(linked.tenant(), i_ds=ids).contacts
    everything = linked.api.get_contacts(linked.tenant(), i_ds=ids, include_archived=True).contacts
    assert [c.contact_id for c in plain] == [str(acme.contact_id)]
    assert sorted(c.contact_id for c in everything) == sorted(ids)


def test_contacts_come_ordered_by_name_and_only_from_the_asked_organisation(linked):
    names = [c.name for c in linked.api.get_contacts(linked.tenant()).contacts]
    assert names == ["Acme Imports Ltd", "Harbour Logistics", "Kiwi Traders", "Office Supplies Co"]


def test_pages_hold_the_page_size_and_no_page_means_everything(linked, settings):
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "PAGE_SIZE": 3}
    first, second = (linked.api.get_contacts(linked.tenant(), page=n) for n in (1, 2))
    assert [c.name for c in first.contacts] == ["Acme Imports Ltd", "Harbour Logistics", "Kiwi Traders"]
    assert [c.name for c in second.contacts] == ["Office Supplies Co"]
    pagination = second.pagination
    assert (pagination.page, pagination.page_size, pagination.page_count, pagination.item_count) == (2, 3, 2, 4)
    assert len(linked.api.get_contacts(linked.tenant()).contacts) == 4


def test_a_page_holds_a_hundred_contacts_by_default(linked, orgs):
    Contact.objects.bulk_create(Contact(organisation=orgs["NZ"], name=f"Customer {n:03}") for n in range(100))
    assert len(linked.api.get_contacts(linked.tenant(), page=1).contacts) == 100
    assert len(linked.api.get_contacts(linked.tenant(), page=2).contacts) == 4


def test_search_term_looks_at_name_and_email_but_not_account_number(linked, orgs):
    Contact.objects.filter(organisation=orgs["NZ"], name="Harbour Logistics").update(email="accounts@harbour.example")
    by_name = linked.api.get_contacts(linked.tenant(), search_term="kiwi").contacts
    by_email = linked.api.get_contacts(linked.tenant(), search_term="@HARBOUR").contacts
    by_number = linked.api.get_contacts(linked.tenant(), search_term="ACME01").contacts
    assert ([c.name for c in by_name], [c.name for c in by_email], by_number) == (
        ["Kiwi Traders"],
        ["Harbour Logistics"],
        [],
    )


def test_if_modified_since_answers_only_contacts_changed_after_it(linked, orgs):
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    Contact.objects.filter(organisation=orgs["NZ"]).update(updated_at=long_ago)
    Contact.objects.filter(organisation=orgs["NZ"], name="Kiwi Traders").update(updated_at=datetime.now(UTC))
    since = datetime.now(UTC) - timedelta(hours=1)
    changed = linked.api.get_contacts(linked.tenant(), if_modified_since=since).contacts
    assert [c.name for c in changed] == ["Kiwi Traders"]


def test_one_contact_is_read_by_its_id_even_when_archived(linked, orgs):
    bluefin = stored(orgs["NZ"], account_number="BLUEFIN")
    found = linked.api.get_contact(linked.tenant(), str(bluefin.contact_id)).contacts
    assert [(c.name, c.contact_status) for c in found] == [("Bluefin Seafoods Ltd", "ARCHIVED")]


def test_an_unknown_contact_id_is_a_404(linked, orgs):
    thames = stored(orgs["GB"], account_number="THAMES01")  # another organisation's contact
    with pytest.raises(NotFoundException) as error:
        linked.api.get_contact(linked.tenant("NZ"), str(thames.contact_id))
    assert error.value.status == 404
    assert json.loads(error.value.body)["Status"] == 404


# --- Xero's specification ------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")
@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/Contacts?page=1&includeArchived=true", None),
        ("PUT", "/Contacts?summarizeErrors=false", {"Contacts": [{"Name": "Spec Ltd"}, {"Name": "Kiwi Traders"}]}),
    ],
)
def test_contacts_answers_match_xeros_specification(linked, sandbox_url, method, path, body):
    from openapi_core.testing import MockRequest, MockResponse

    spec = load("xero_accounting.yaml")
    status, answer = raw(linked, sandbox_url, method, path, body)
    route, _, query = path.partition("?")
    args = dict(part.split("=") for part in query.split("&")) if query else {}
    headers = {"xero-tenant-id": linked.tenant(), "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    request = MockRequest(
        "https://api.xero.com", method.lower(), f"/api.xro/2.0{route}", args=args, headers=headers, data=data
    )
    assert status == 200
    spec.validate_response(request, MockResponse(json.dumps(answer).encode(), status_code=status))
