"""The sandbox's Contacts endpoints, driven as the integration drives them: through xero-python."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import urllib3
from django.db.models.signals import pre_save
from xero_python.accounting import Contact as SdkContact
from xero_python.accounting import Contacts
from xero_python.exceptions import AccountingBadRequestException, NotFoundException

from xero_sandbox.api_contacts import NAME_REQUIRED, NUMBER_TAKEN
from xero_sandbox.models import Contact, WebhookEvent

from .openapi_specs import load

NAME_TAKEN = (
    "The contact name Kiwi Traders is already assigned to another contact. "
    "The contact name must be unique across all active contacts."
)


def stored(org, **filters) -> Contact:
    return Contact.objects.get(organisation=org, **filters)


def batch(*contacts) -> Contacts:
    return Contacts(contacts=list(contacts))


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


# --- creating ------------------------------------------------------------------------------------


def test_a_created_contact_comes_back_whole_and_the_sdk_reads_it(linked, orgs):
    sent = SdkContact(
        name="Southern Cross Freight",
        account_number="SCF01",
        email_address="ap@scf.example",
        is_customer=True,
        is_supplier=True,
    )
    created = linked.api.create_contacts(linked.tenant(), batch(sent)).contacts[0]
    row = stored(orgs["NZ"], account_number="SCF01")
    assert (created.contact_id, created.name, created.email_address, created.contact_status) == (
        str(row.contact_id),
        "Southern Cross Freight",
        "ap@scf.example",
        "ACTIVE",
    )
    assert abs(created.updated_date_utc - row.updated_at) < timedelta(milliseconds=1)
    # IsCustomer and IsSupplier are Xero's to set, never the caller's.
    assert (created.is_customer, created.is_supplier, row.is_customer, row.is_supplier) == (False, False, False, False)


def test_a_contact_keeps_any_tax_number_type_and_shows_tax_fields_only_when_set(linked, sandbox_url, orgs):
    body = {
        "Contacts": [
            {"Name": "Yankee Freight Inc", "TaxNumber": "12-3456789", "TaxNumberType": "TAXNUMBERTYPE/EIN"},
            {"Name": "Plain Freight Ltd"},
        ]
    }
    status, answer = raw(linked, sandbox_url, "PUT", "/Contacts", body)
    taxed, plain = answer["Contacts"]
    assert status == 200
    assert (taxed["TaxNumber"], taxed["TaxNumberType"]) == ("12-3456789", "TAXNUMBERTYPE/EIN")
    assert "TaxNumber" not in plain and "TaxNumberType" not in plain
    row = stored(orgs["NZ"], name="Yankee Freight Inc")
    assert (row.tax_number, row.tax_number_type) == ("12-3456789", "TAXNUMBERTYPE/EIN")


def test_the_sdk_raises_value_error_on_a_tax_number_type_it_does_not_know(linked):
    """Real Xero answers a US organisation's contacts with TaxNumberType "TAXNUMBERTYPE/EIN"; the SDK's
    enumeration lists SSN, EIN, ITIN and ATIN only, so reading such an answer fails in the SDK itself.
    The seeded UK organisation holds one such contact (the sandbox has no US organisation)."""
    with pytest.raises(ValueError, match="TAXNUMBERTYPE/EIN"):
        linked.api.get_contacts(linked.tenant("GB"))
    # An answer that leaves that contact out is read as usual.
    found = linked.api.get_contacts(linked.tenant("GB"), where='AccountNumber=="THAMES01"').contacts
    assert [c.name for c in found] == ["Thames Wholesale plc"]


def test_an_account_number_held_by_an_archived_contact_is_refused(linked, orgs):
    with pytest.raises(AccountingBadRequestException) as error:
        linked.api.create_contacts(linked.tenant(), batch(SdkContact(name="Bluefin Fresh", account_number="bluefin")))
    assert error.value.error_data["Elements"][0]["ValidationErrors"] == [{"Message": NUMBER_TAKEN}]
    assert not Contact.objects.filter(name="Bluefin Fresh").exists()


def test_a_name_held_by_an_active_contact_is_refused_but_an_archived_ones_is_free(linked, orgs):
    with pytest.raises(AccountingBadRequestException) as error:
        linked.api.create_contacts(linked.tenant(), batch(SdkContact(name="kiwi traders", account_number="KT2")))
    assert error.value.error_data["Elements"][0]["ValidationErrors"] == [
        {"Message": NAME_TAKEN.replace("Kiwi Traders", "kiwi traders")}
    ]
    reused = linked.api.create_contacts(linked.tenant(), batch(SdkContact(name="Bluefin Seafoods Ltd"))).contacts[0]
    assert Contact.objects.filter(organisation=orgs["NZ"], name="Bluefin Seafoods Ltd").count() == 2
    assert reused.contact_status == "ACTIVE"


def test_a_contact_needs_a_name(linked):
    with pytest.raises(AccountingBadRequestException) as error:
        linked.api.create_contacts(linked.tenant(), batch(SdkContact(account_number="NONAME")))
    assert error.value.reason == NAME_REQUIRED


def test_an_account_number_over_fifty_characters_is_refused(linked, sandbox_url):
    body = {"Contacts": [{"Name": "Long", "AccountNumber": "A" * 51}]}
    status, answer = raw(linked, sandbox_url, "PUT", "/Contacts", body)
    assert status == 400
    assert answer["Elements"][0]["ValidationErrors"] == [
        {"Message": "Account Number must not be more than 50 characters long."}
    ]
    assert not Contact.objects.filter(name="Long").exists()


def test_elements_of_one_batch_clash_with_each_other(linked):
    twins = [
        SdkContact(name="Twin One", account_number="TWIN"),
        SdkContact(name="Twin Two", account_number="twin"),
        SdkContact(name="Same Name"),
        SdkContact(name="SAME NAME"),
    ]
    answer = linked.api.create_contacts(linked.tenant(), batch(*twins), summarize_errors=False).contacts
    assert [c.status_attribute_string for c in answer] == ["OK", "ERROR", "OK", "ERROR"]
    assert answer[1].validation_errors[0].message == NUMBER_TAKEN


def mixed_batch() -> Contacts:
    return batch(
        SdkContact(name="Good One Ltd", account_number="GOOD1"),
        SdkContact(name="Copycat Ltd", account_number="ACME01"),
        SdkContact(name="Good Two Ltd", account_number="GOOD2"),
        SdkContact(name="Kiwi Traders", account_number="KIWI99"),
    )


def test_with_summarize_errors_false_the_good_elements_are_created_and_the_bad_ones_explained(linked, orgs):
    answer = linked.api.create_contacts(linked.tenant(), mixed_batch(), summarize_errors=False).contacts
    assert [(c.name, c.status_attribute_string, c.has_validation_errors) for c in answer] == [
        ("Good One Ltd", "OK", False),
        ("Copycat Ltd", "ERROR", True),
        ("Good Two Ltd", "OK", False),
        ("Kiwi Traders", "ERROR", True),
    ]
    assert [e.message for e in answer[1].validation_errors] == [NUMBER_TAKEN]
    assert [e.message for e in answer[3].validation_errors] == [NAME_TAKEN]
    assert answer[0].contact_id == str(stored(orgs["NZ"], account_number="GOOD1").contact_id)
    assert not Contact.objects.filter(account_number__in=["KIWI99"]).exists()
    assert not Contact.objects.filter(name="Copycat Ltd").exists()


def test_without_summarize_errors_false_one_bad_element_stops_the_whole_batch(linked, orgs):
    before = Contact.objects.count()
    with pytest.raises(AccountingBadRequestException) as error:
        linked.api.create_contacts(linked.tenant(), mixed_batch())
    data = error.value.error_data
    assert (error.value.status, data["Type"], data["ErrorNumber"]) == (400, "ValidationException", 10)
    assert [(e["Name"], e["ValidationErrors"]) for e in data["Elements"]] == [
        ("Copycat Ltd", [{"Message": NUMBER_TAKEN}]),
        ("Kiwi Traders", [{"Message": NAME_TAKEN}]),
    ]
    assert Contact.objects.count() == before
    assert not WebhookEvent.objects.exists()


def test_every_created_contact_is_announced_by_an_event(linked, orgs):
    answer = linked.api.create_contacts(linked.tenant(), mixed_batch(), summarize_errors=False).contacts
    created = {c.contact_id for c in answer if c.status_attribute_string == "OK"}
    events = WebhookEvent.objects.all()
    assert {(str(e.resource_id), e.category, e.event_type) for e in events} == {
        (contact_id, "CONTACT", "CREATE") for contact_id in created
    }
    assert {e.organisation for e in events} == {orgs["NZ"]}


def test_put_never_updates_a_contact_named_by_its_id(linked, orgs):
    acme = stored(orgs["NZ"], account_number="ACME01")
    with pytest.raises(AccountingBadRequestException):
        linked.api.create_contacts(linked.tenant(), batch(SdkContact(contact_id=str(acme.contact_id), name="Renamed")))
    assert stored(orgs["NZ"], account_number="ACME01").name == "Acme Imports Ltd"


# --- updating ------------------------------------------------------------------------------------


def test_post_with_a_contact_id_updates_that_contact_and_announces_it(linked, orgs):
    acme = stored(orgs["NZ"], account_number="ACME01")
    change = SdkContact(contact_id=str(acme.contact_id), email_address="billing@acme.example")
    answer = linked.api.update_or_create_contacts(linked.tenant(), batch(change)).contacts[0]
    row = stored(orgs["NZ"], pk=acme.pk)
    assert (answer.contact_id, answer.name, row.email, row.account_number) == (
        str(acme.contact_id),
        "Acme Imports Ltd",
        "billing@acme.example",
        "ACME01",
    )
    event = WebhookEvent.objects.get()
    assert (event.resource_id, event.category, event.event_type) == (acme.contact_id, "CONTACT", "UPDATE")


def test_post_without_a_contact_id_updates_the_active_contact_of_that_name(linked, orgs):
    before = Contact.objects.count()
    answer = linked.api.update_or_create_contacts(
        linked.tenant(), batch(SdkContact(name="Kiwi Traders", account_number="KIWI01"))
    ).contacts[0]
    kiwi = stored(orgs["NZ"], name="Kiwi Traders")
    assert (answer.contact_id, kiwi.account_number, Contact.objects.count()) == (str(kiwi.contact_id), "KIWI01", before)


def test_post_to_a_contact_archives_it_and_un_archives_it(linked, orgs):
    harbour = stored(orgs["NZ"], account_number="HARB-7")
    archive = batch(SdkContact(contact_status="ARCHIVED"))
    answer = linked.api.update_contact(linked.tenant(), str(harbour.contact_id), archive).contacts[0]
    listed = [c.name for c in linked.api.get_contacts(linked.tenant()).contacts]
    assert (answer.contact_status, "Harbour Logistics" in listed) == ("ARCHIVED", False)
    linked.api.update_contact(linked.tenant(), str(harbour.contact_id), batch(SdkContact(contact_status="ACTIVE")))
    assert stored(orgs["NZ"], pk=harbour.pk).status == "ACTIVE"
    assert list(WebhookEvent.objects.values_list("event_type", flat=True)) == ["UPDATE", "UPDATE"]


def test_un_archiving_is_refused_when_an_active_contact_took_the_name(linked, orgs):
    bluefin = stored(orgs["NZ"], account_number="BLUEFIN")
    linked.api.create_contacts(linked.tenant(), batch(SdkContact(name="Bluefin Seafoods Ltd", account_number="BF2")))
    with pytest.raises(AccountingBadRequestException) as error:
        linked.api.update_contact(linked.tenant(), str(bluefin.contact_id), batch(SdkContact(contact_status="ACTIVE")))
    assert "already assigned to another contact" in error.value.reason
    assert stored(orgs["NZ"], pk=bluefin.pk).status == "ARCHIVED"


def test_posting_to_an_unknown_contact_is_a_404(linked):
    with pytest.raises(NotFoundException):
        linked.api.update_contact(
            linked.tenant(), "00000000-0000-0000-0000-000000000001", batch(SdkContact(name="Ghost"))
        )


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


# --- at the same time ----------------------------------------------------------------------------


@pytest.fixture
def slow_contact_writes():
    """Widen the gap between checking an account number and writing it, where a race would slip in."""

    def pause(sender, **kwargs):
        time.sleep(0.1)

    pre_save.connect(pause, sender=Contact)
    yield
    pre_save.disconnect(pause, sender=Contact)


@pytest.mark.postgres
def test_batches_sent_at_the_same_time_cannot_both_take_one_account_number(linked, sandbox_url, slow_contact_writes):
    senders = 4  # within the five calls an organisation may have in flight
    start, statuses = threading.Barrier(senders), []

    def send(n):
        start.wait()
        body = {"Contacts": [{"Name": f"Racer {n}", "AccountNumber": "RACE01"}]}
        statuses.append(raw(linked, sandbox_url, "PUT", "/Contacts", body)[0])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] + [400] * (senders - 1)
    assert Contact.objects.filter(account_number="RACE01").count() == 1
