"""The sandbox's Contacts endpoints written to as the integration writes: creating and updating
through xero-python, Xero's checks on names and account numbers, and batches racing for one number."""

import threading
import time
from datetime import timedelta

import pytest
from django.db.models.signals import pre_save
from xero_python.accounting import Contact as SdkContact
from xero_python.accounting import Contacts
from xero_python.exceptions import AccountingBadRequestException, NotFoundException

from xero_sandbox.api_contacts import NAME_REQUIRED, NUMBER_TAKEN
from xero_sandbox.models import Contact, WebhookEvent

from .test_contacts_api import raw, stored

NAME_TAKEN = (
    "The contact name Kiwi Traders is already assigned to another contact. "
    "The contact name must be unique across all active contacts."
)


def batch(*contacts) -> Contacts:
    return Contacts(contacts=list(contacts))


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
