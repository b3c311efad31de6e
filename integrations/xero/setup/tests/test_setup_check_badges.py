"""The set-up check page's status badges, shown from a report made here (no Xero is read)."""

import re

import pytest
from django.urls import reverse

from integrations.xero.conftest import make_admin
from integrations.xero.setup import setup_check
from integrations.xero.setup.report import BLOCKING, NOTE, OK, WARNING, Line, Report, Section
from integrations.xero.tests.factories import XeroConnectionFactory

STATUSES = (BLOCKING, WARNING, NOTE, OK)


@pytest.fixture
def page(client, db, monkeypatch) -> str:
    XeroConnectionFactory()
    lines = [Line(status=status, subject=f"A {status} rate", code="200", says="Found.") for status in STATUSES]
    report = Report("Fake Freight NZ Ltd", None, [Section("rates", "Rates", lines)])
    monkeypatch.setattr(setup_check, "setup_check_run", lambda *, connection: report)
    client.force_login(make_admin())
    answer = client.get(reverse("xero:setup_check"))
    assert answer.status_code == 200
    return answer.content.decode()


def badge_classes(page: str) -> dict[str, set[str]]:
    found = re.findall(r'data-status="(\w+)">\s*<td><span class="([^"]*)"', page)
    return {status: set(classes.split()) for status, classes in found}


def test_no_badge_borrows_a_sync_state_s_look_so_a_warning_has_no_pulsing_dot(page):
    badges = badge_classes(page)
    assert set(badges) == set(STATUSES)
    for status, classes in badges.items():
        assert "badge" in classes
        assert not [name for name in classes if name.startswith("badge-sync-")], status
    assert len({frozenset(classes) for classes in badges.values()}) == len(STATUSES)  # each status looks its own
