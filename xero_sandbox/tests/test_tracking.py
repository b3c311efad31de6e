"""Tracking categories through the real SDK: listed as Xero lists them (archived ones only when asked),
and a line's `Tracking` checked against them, stored and answered back; the staff page that archives and
restores an option."""

import json

import pytest
import urllib3
from django.urls import reverse
from openapi_core.testing import MockRequest, MockResponse
from xero_python.accounting import CreditNotes, Invoices, LineItemTracking
from xero_python.exceptions import NotFoundException

from xero_sandbox import books
from xero_sandbox.models import Document, DocumentLine, TrackingCategory, TrackingOption

from .books_factories import contact, sdk_credit_note, sdk_invoice, sdk_line
from .conftest import signed_in
from .openapi_specs import load

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

# Xero's own words for a category that is not active (seen for a contact's SalesTrackingCategories,
# calcinai/xero-php#386); the rest are the sandbox's own (Xero's were not found).
NO_ACTIVE_CATEGORY = "There is no ACTIVE tracking category with the name '{}'"
UNKNOWN_OPTION = "The tracking option '{}' does not exist in the tracking category '{}'."
ARCHIVED_OPTION = (
    "The tracking option '{}' of the tracking category '{}' has been archived. "
    "Each line item must use an active tracking option."
)
TOO_MANY = "A line item can have at most 2 tracking categories."
SAME_TWICE = "The tracking category '{}' can only be given once on a line item."
NO_OPTION = "A tracking option must be given for the tracking category '{}'."


@pytest.fixture
def acme(nz):
    return contact(nz, "ACME01")


def tracked(name: str, option: str) -> LineItemTracking:
    return LineItemTracking(name=name, option=option)


def create(linked, *invoices):
    invoices = Invoices(invoices=list(invoices))
    return linked.api.create_invoices(linked.tenant(), invoices, summarize_errors=False).invoices


def messages(element) -> list[str]:
    return [e.message for e in element.validation_errors or []]


def option(org, category: str, name: str) -> TrackingOption:
    return TrackingOption.objects.get(category__organisation=org, category__name=category, name=name)


# --- GET /TrackingCategories ---------------------------------------------------------------------
def test_the_active_categories_are_listed_with_their_active_options(linked):
    categories = linked.api.get_tracking_categories(linked.tenant()).tracking_categories
    assert [(c.name, c.status) for c in categories] == [("Branch", "ACTIVE"), ("Service", "ACTIVE")]
    service = categories[1]
    assert [(o.name, o.status) for o in service.options] == [
        ("Air", "ACTIVE"),
        ("Road", "ACTIVE"),
        ("Sea", "ACTIVE"),
        ("Warehousing", "ACTIVE"),
    ]
    assert all(o.tracking_option_id for o in service.options)
    service_row = TrackingCategory.objects.get(organisation=linked.orgs["NZ"], name="Service")
    assert service.tracking_category_id == str(service_row.tracking_category_id)


def test_archived_categories_and_options_are_listed_only_when_asked_for(linked):
    categories = linked.api.get_tracking_categories(linked.tenant(), include_archived=True).tracking_categories
    listed = {c.name: (c.status, {o.name: o.status for o in c.options}) for c in categories}
    assert listed["Old Region"] == ("ARCHIVED", {"North Island": "ACTIVE"})
    assert listed["Service"][1]["Rail"] == "ARCHIVED"
    assert set(listed) == {"Branch", "Old Region", "Service"}


def test_deleted_categories_and_options_are_never_listed(linked, nz):
    TrackingCategory.objects.filter(organisation=nz, name="Old Region").update(status="DELETED")
    TrackingOption.objects.filter(pk=option(nz, "Branch", "Wellington").pk).update(status="DELETED")
    categories = linked.api.get_tracking_categories(linked.tenant(), include_archived=True).tracking_categories
    assert {c.name for c in categories} == {"Branch", "Service"}
    branch = next(c for c in categories if c.name == "Branch")
    assert [o.name for o in branch.options] == ["Auckland", "Christchurch"]


def test_the_list_is_filtered_with_where_and_ordered(linked):
    api, tenant = linked.api, linked.tenant()
    archived = api.get_tracking_categories(tenant, where='Status=="ARCHIVED"', include_archived=True)
    assert [c.name for c in archived.tracking_categories] == ["Old Region"]
    ordered = api.get_tracking_categories(tenant, order="Name DESC", include_archived=True)
    assert [c.name for c in ordered.tracking_categories] == ["Service", "Old Region", "Branch"]


def test_a_category_is_read_by_its_id_with_its_archived_options(linked, nz):
    service = TrackingCategory.objects.get(organisation=nz, name="Service")
    found = linked.api.get_tracking_category(linked.tenant(), str(service.tracking_category_id)).tracking_categories
    assert [c.name for c in found] == ["Service"]
    assert {o.name: o.status for o in found[0].options}["Rail"] == "ARCHIVED"
    with pytest.raises(NotFoundException):
        linked.api.get_tracking_category(linked.tenant(), "00000000-0000-0000-0000-000000000000")


def test_each_organisation_has_its_own_categories(linked):
    categories = linked.api.get_tracking_categories(linked.tenant("GB")).tracking_categories
    assert [(c.name, [o.name for o in c.options]) for c in categories] == [("Branch", ["London", "Manchester"])]


# --- A line's Tracking ---------------------------------------------------------------------------
def test_a_line_with_tracking_is_stored_and_read_back_as_xero_spells_it(linked, nz, acme):
    line = sdk_line(tracking=[tracked("service", "SEA"), tracked("Branch", " Auckland ")])
    created = create(linked, sdk_invoice(acme, lines=[line]))[0]
    assert created.status_attribute_string == "OK", messages(created)
    sea, auckland = option(nz, "Service", "Sea"), option(nz, "Branch", "Auckland")
    expected = [
        ("Service", "Sea", str(sea.category.tracking_category_id), str(sea.tracking_option_id)),
        ("Branch", "Auckland", str(auckland.category.tracking_category_id), str(auckland.tracking_option_id)),
    ]
    answered = created.line_items[0].tracking
    assert [(t.name, t.option, t.tracking_category_id, t.tracking_option_id) for t in answered] == expected
    found = linked.api.get_invoice(linked.tenant(), created.invoice_id).invoices[0].line_items[0].tracking
    assert [(t.name, t.option, t.tracking_category_id, t.tracking_option_id) for t in found] == expected
    stored = DocumentLine.objects.get(document__document_id=created.invoice_id).tracking
    assert [(t["Name"], t["Option"]) for t in stored] == [("Service", "Sea"), ("Branch", "Auckland")]


def test_tracking_may_be_given_by_ids_alone(linked, nz, acme):
    air = option(nz, "Service", "Air")
    given = LineItemTracking(
        tracking_category_id=str(air.category.tracking_category_id), tracking_option_id=str(air.tracking_option_id)
    )
    created = create(linked, sdk_invoice(acme, lines=[sdk_line(tracking=[given])]))[0]
    assert created.status_attribute_string == "OK", messages(created)
    assert [(t.name, t.option) for t in created.line_items[0].tracking] == [("Service", "Air")]


def test_a_line_without_tracking_answers_an_empty_list(linked, acme):
    created = create(linked, sdk_invoice(acme))[0]
    assert created.line_items[0].tracking == []


def test_a_credit_note_line_carries_tracking_too(linked, acme):
    note = sdk_credit_note(acme, lines=[sdk_line(tracking=[tracked("Branch", "Wellington")])])
    created = linked.api.create_credit_notes(
        linked.tenant(), CreditNotes(credit_notes=[note]), summarize_errors=False
    ).credit_notes[0]
    assert [(t.name, t.option) for t in created.line_items[0].tracking] == [("Branch", "Wellington")]


@pytest.mark.parametrize(
    "tracking, expected",
    [
        ([tracked("Region", "North")], [NO_ACTIVE_CATEGORY.format("Region")]),
        ([tracked("Old Region", "North Island")], [NO_ACTIVE_CATEGORY.format("Old Region")]),  # archived
        ([tracked("Service", "Hovercraft")], [UNKNOWN_OPTION.format("Hovercraft", "Service")]),
        ([tracked("Service", "rail")], [ARCHIVED_OPTION.format("Rail", "Service")]),
        ([LineItemTracking(name="Service")], [NO_OPTION.format("Service")]),
        ([LineItemTracking(option="Sea")], [NO_ACTIVE_CATEGORY.format("")]),
        ([tracked("Service", "Sea"), tracked("Branch", "Auckland"), tracked("Service", "Air")], [TOO_MANY]),
        ([tracked("Service", "Sea"), tracked("SERVICE", "Air")], [SAME_TWICE.format("Service")]),
        (
            [tracked("Service", "Rail"), tracked("Branch", "Dunedin")],
            [ARCHIVED_OPTION.format("Rail", "Service"), UNKNOWN_OPTION.format("Dunedin", "Branch")],
        ),
    ],
)
def test_a_line_whose_tracking_xero_would_refuse_is_refused_with_the_message(linked, acme, tracking, expected):
    refused = create(linked, sdk_invoice(acme, lines=[sdk_line(tracking=tracking)]))[0]
    assert (refused.has_errors, messages(refused)) == (True, expected)
    assert not Document.objects.exists()


def test_an_unknown_category_id_is_refused(linked, acme):
    unknown_category, unknown_option = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"
    given = LineItemTracking(tracking_category_id=unknown_category, tracking_option_id=unknown_option)
    refused = create(linked, sdk_invoice(acme, lines=[sdk_line(tracking=[given])]))[0]
    assert messages(refused) == [
        "There is no ACTIVE tracking category with the TrackingCategoryID '00000000-0000-0000-0000-00000000000a'"
    ]


def test_the_same_problem_on_several_lines_is_said_once_with_the_others(linked, acme):
    lines = [sdk_line(tracking=[tracked("Service", "Rail")]) for _ in range(3)] + [sdk_line(account_code="999")]
    refused = create(linked, sdk_invoice(acme, lines=lines))[0]
    assert messages(refused) == [
        ARCHIVED_OPTION.format("Rail", "Service"),
        "Account code '999' is not a valid code for this document.",
    ]


def test_an_option_archived_after_it_was_used_stays_on_the_document_it_is_on(linked, nz, acme):
    rail = option(nz, "Service", "Rail")
    rail.status = "ACTIVE"
    rail.save()
    railed = [sdk_line(tracking=[tracked("Service", "Rail")])]
    draft = create(linked, sdk_invoice(acme, status="DRAFT", lines=railed))[0]
    TrackingOption.objects.filter(pk=rail.pk).update(status="ARCHIVED")
    again = sdk_invoice(acme, invoice_id=draft.invoice_id, status="AUTHORISED", lines=railed)
    updated = linked.api.update_invoice(linked.tenant(), draft.invoice_id, Invoices(invoices=[again])).invoices[0]
    assert (updated.status, [t.option for t in updated.line_items[0].tracking]) == ("AUTHORISED", ["Rail"])
    refused = create(linked, sdk_invoice(acme, lines=[sdk_line(tracking=[tracked("Service", "Rail")])]))[0]
    assert messages(refused) == [ARCHIVED_OPTION.format("Rail", "Service")]


def test_changing_a_lines_tracking_is_an_edit_refused_once_the_invoice_is_paid(linked, nz, acme):
    created = create(linked, sdk_invoice(acme, lines=[sdk_line(tracking=[tracked("Service", "Sea")])]))[0]
    document = Document.objects.get(document_id=created.invoice_id)
    books.document_pay(document=document, amount=document.amount_due)
    retracked = sdk_invoice(acme, invoice_id=created.invoice_id, lines=[sdk_line(tracking=[tracked("Service", "Air")])])
    answered = linked.api.update_or_create_invoices(
        linked.tenant(), Invoices(invoices=[retracked]), summarize_errors=False
    ).invoices[0]
    assert messages(answered) == ["This document cannot be edited as it has a payment or credit note allocated to it."]


# --- Xero's specification ------------------------------------------------------------------------
@pytest.mark.parametrize("query", [None, {"includeArchived": "true"}, {"where": 'Status=="ACTIVE"', "order": "Name"}])
def test_the_answers_match_xeros_specification(linked, sandbox_url, nz, acme, query):
    spec = load("xero_accounting.yaml")
    service = TrackingCategory.objects.get(organisation=nz, name="Service")
    http = urllib3.PoolManager(retries=False)
    headers = {
        "Authorization": f"Bearer {linked.access_token.token}",
        "xero-tenant-id": linked.tenant(),
        "Accept": "application/json",
    }
    create(linked, sdk_invoice(acme, lines=[sdk_line(tracking=[tracked("Service", "Sea")])]))
    for path, args in (
        ("/TrackingCategories", query),
        (f"/TrackingCategories/{service.tracking_category_id}", None),
        ("/Invoices", {"page": "1"}),
    ):
        answer = http.request("GET", f"{sandbox_url}/api.xro/2.0{path}", fields=args, headers=headers)
        assert answer.status == 200, answer.data
        request = MockRequest("https://api.xero.com", "get", f"/api.xro/2.0{path}", args=args or {}, headers=headers)
        spec.validate_request(request)
        spec.validate_response(request, MockResponse(answer.data, status_code=200, headers=dict(answer.headers)))
    assert json.loads(answer.data)["Invoices"][0]["LineItems"][0]["Tracking"][0]["Option"] == "Sea"


# --- The staff page ------------------------------------------------------------------------------
def test_the_organisation_page_shows_categories_and_archives_and_restores_an_option(staff, orgs):
    nz = orgs["NZ"]
    url = reverse("xero_sandbox:organisation_detail", args=[nz.pk])
    html = staff.get(url).content.decode()
    assert 'data-testid="tracking-categories"' in html
    assert "Warehousing" in html and "Old Region" in html and "Rail" in html
    sea = option(nz, "Service", "Sea")
    answer = staff.post(reverse("xero_sandbox:tracking_option_archive", args=[nz.pk, sea.pk]), follow=True)
    assert "Tracking option Service: Sea is now archived." in answer.content.decode()
    sea.refresh_from_db()
    assert sea.status == "ARCHIVED"
    staff.post(reverse("xero_sandbox:tracking_option_restore", args=[nz.pk, sea.pk]))
    sea.refresh_from_db()
    assert sea.status == "ACTIVE"


def test_another_organisations_option_is_not_found_and_acting_needs_the_permission(staff, orgs):
    london = option(orgs["GB"], "Branch", "London")
    refused = staff.post(reverse("xero_sandbox:tracking_option_archive", args=[orgs["NZ"].pk, london.pk]))
    assert refused.status_code == 404
    clerk = signed_in("clerk", is_staff=True)
    forbidden = clerk.post(reverse("xero_sandbox:tracking_option_archive", args=[orgs["GB"].pk, london.pk]))
    assert forbidden.status_code == 403
    london.refresh_from_db()
    assert london.status == "ACTIVE"


def test_the_document_page_shows_each_lines_tracking(staff, linked, nz, acme):
    line = sdk_line(tracking=[tracked("Service", "Road"), tracked("Branch", "Christchurch")])
    created = create(linked, sdk_invoice(acme, lines=[line]))[0]
    document = Document.objects.get(document_id=created.invoice_id)
    html = staff.get(reverse("xero_sandbox:document_detail", args=[nz.pk, document.pk])).content.decode()
    assert "Service: Road · Branch: Christchurch" in html
