"""Tracking categories, on the in-memory Xero (api/fake.py): an administrator chooses which of the organisation's
categories track rates' service lines and documents' branches; lines then carry those options, and an option
Xero lacks or has archived holds the document back with what to change."""

import pytest
from django.urls import reverse

from billing.models import Branch
from billing.tests.factories import RateFactory
from integrations.xero.conftest import issued, state_of
from integrations.xero.outbound import sending, tracking
from integrations.xero.setup import setup_check

CATEGORIES = [
    {
        "name": "Service",
        "status": "ACTIVE",
        "options": [
            {"name": "Sea", "status": "ACTIVE"},
            {"name": "Air", "status": "ACTIVE"},
            {"name": "Rail", "status": "ARCHIVED"},
        ],
    },
    {"name": "Branch", "status": "ACTIVE", "options": [{"name": "Auckland", "status": "ACTIVE"}]},
    {"name": "Old Region", "status": "ARCHIVED", "options": [{"name": "North", "status": "ACTIVE"}]},
]


@pytest.fixture
def tracked(fake_xero):
    fake_xero.connection.tracking_categories = CATEGORIES
    fake_xero.connection.save()
    tracking.tracking_choose(connection=fake_xero.connection, for_service="Service", for_branch="Branch")
    fake_xero.connection.refresh_from_db()
    return fake_xero


def sent_document(fake_xero, invoice):
    return fake_xero.org.documents[str(state_of(invoice).xero_id)]


def test_each_line_carries_its_rates_service_line_and_its_documents_branch(tracked, codes):
    sea = RateFactory(label="Sea freight", revenue_account_code="200", service="Sea")
    invoice = issued(codes, rate=sea, branch=Branch.objects.create(name="Auckland"))
    sending.sync_round_push()
    assert sent_document(tracked, invoice).tracking == [(("Service", "Sea"), ("Branch", "Auckland"))]


def test_without_a_choice_nothing_is_tracked(fake_xero, codes):
    fake_xero.connection.tracking_categories = CATEGORIES
    fake_xero.connection.save()
    invoice = issued(codes, rate=RateFactory(revenue_account_code="200", service="Sea"))
    sending.sync_round_push()
    assert sent_document(fake_xero, invoice).tracking == [()]


def test_a_service_line_xero_has_no_option_for_holds_the_document_back_with_what_to_change(tracked, codes):
    road = RateFactory(label="Road freight", revenue_account_code="200", service="Road")
    invoice = issued(codes, rate=road)
    sending.sync_round_push()
    record = state_of(invoice)
    assert record.state == "failed" and "create_documents" not in tracked.org.calls
    assert record.error.startswith(
        "Not sent: The rate “Road freight” (Rates › Road freight) has service line Road, but “Road” is not an option "
        "of Xero's tracking category “Service”. Add or restore it under Settings › Tracking categories in Xero"
    )


def test_an_archived_branch_option_holds_the_document_back(tracked, codes):
    tracked.connection.tracking_categories[1]["options"][0]["status"] = "ARCHIVED"
    tracked.connection.save()
    invoice = issued(codes, branch=Branch.objects.create(name="auckland"))  # Xero matches names without case
    sending.sync_round_push()
    assert "the option “Auckland” of Xero's tracking category “Branch” is archived" in state_of(invoice).error


def test_one_category_cannot_track_both_and_an_archived_one_cannot_be_chosen(fake_xero):
    fake_xero.connection.tracking_categories = CATEGORIES
    fake_xero.connection.save()
    with pytest.raises(tracking.TrackingRefused, match="two different categories"):
        tracking.tracking_choose(connection=fake_xero.connection, for_service="Service", for_branch="Service")
    with pytest.raises(tracking.TrackingRefused, match="“Old Region” is not an active tracking category"):
        tracking.tracking_choose(connection=fake_xero.connection, for_service="Old Region", for_branch="")
    fake_xero.connection.refresh_from_db()
    assert (fake_xero.connection.tracking_for_service, fake_xero.connection.tracking_for_branch) == ("", "")


def test_the_set_up_check_offers_the_active_categories_and_saves_the_choice(fake_xero, admin_client):
    fake_xero.connection.tracking_categories = CATEGORIES
    fake_xero.connection.save()
    page = admin_client.get(reverse("xero:setup_check")).content.decode()
    choice = page.split('data-testid="tracking-for-service"')[1].split("</select>")[0]
    assert ">Service<" in choice and ">Branch<" in choice and "Old Region" not in choice
    admin_client.post(reverse("xero:setup_check_tracking"), {"for_service": "Service", "for_branch": "Branch"})
    fake_xero.connection.refresh_from_db()
    assert (fake_xero.connection.tracking_for_service, fake_xero.connection.tracking_for_branch) == (
        "Service",
        "Branch",
    )


def test_the_set_up_check_lists_each_service_line_and_branch_against_xeros_options(tracked):
    RateFactory(label="Sea freight", revenue_account_code="SEA|200", service="Sea")
    RateFactory(label="Rail freight", revenue_account_code="RAIL|200", service="Rail")
    Branch.objects.create(name="Dunedin")
    report = setup_check.setup_check_run(connection=tracked.connection)
    section = next(section for section in report.sections if section.key == "tracking")
    found = {line.code: (line.status, line.says) for line in section.lines}
    assert found["Sea"] == ("ok", "An active option of Xero's tracking category “Service”.")
    assert found["Rail"] == ("blocking", "The option “Rail” of Xero's tracking category “Service” is archived.")
    assert found["Dunedin"] == ("blocking", "“Dunedin” is not an option of Xero's tracking category “Branch”.")


# --- Over HTTP, against the sandbox's NZ organisation (Service: Sea, Air, Road, Warehousing, Rail archived;
# Branch: Auckland, Wellington, Christchurch) -------------------------------------------------------------
def test_lines_reach_the_sandbox_with_their_service_line_and_branch_and_an_archived_option_is_held_back(linked, codes):
    from xero_sandbox.models import Document

    tracking.tracking_choose(connection=linked, for_service="Service", for_branch="Branch")
    sea = RateFactory(label="Sea freight", revenue_account_code="SEA-T|200", service="Sea")
    rail = RateFactory(label="Rail freight", revenue_account_code="RAIL-T|200", service="Rail")
    branch = Branch.objects.create(name="Wellington")
    invoice, by_rail = issued(codes, rate=sea, branch=branch), issued(codes, rate=rail, branch=branch)
    while sending.sync_round_push():
        pass
    (line,) = Document.objects.get(document_id=state_of(invoice).xero_id).lines.all()
    assert [(entry["Name"], entry["Option"]) for entry in line.tracking] == [
        ("Service", "Sea"),
        ("Branch", "Wellington"),
    ]
    held = state_of(by_rail)
    assert held.state == "failed" and "Rail" in held.error and "archived" in held.error
    assert not Document.objects.filter(number=by_rail.number).exists()  # held back, not refused by Xero
