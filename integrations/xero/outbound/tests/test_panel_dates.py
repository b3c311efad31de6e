"""The document page's Xero panel writes times as the rest of the platform does: 24-hour, no "a.m.", so a
time that ends a sentence ends it with one full stop."""

import datetime
from decimal import Decimal

from django.contrib.auth.models import Permission

from integrations.xero.conftest import issued, make_admin
from integrations.xero.models import SyncRecord

MORNING = datetime.datetime(2026, 3, 4, 6, 9, tzinfo=datetime.UTC)


def test_the_time_of_xeros_change_ends_its_sentence_with_one_full_stop(client, codes, settings):
    settings.XERO_ENABLED, settings.TIME_ZONE = True, "UTC"
    user = make_admin()
    user.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    client.force_login(user)
    invoice = issued(codes)
    SyncRecord.objects.filter(invoice=invoice).update(
        state=SyncRecord.State.SENT,
        xero_number=invoice.number,
        xero_status="AUTHORISED",
        sent_at=MORNING,
        amount_paid=Decimal("0.00"),
        amount_due=invoice.total,
        xero_updated_at=MORNING,
    )
    page = client.get(invoice.get_absolute_url()).content.decode()
    sentence = page.split('data-testid="xero-amounts">', 1)[1].split("</p>", 1)[0]
    assert sentence.endswith("as Xero said of its change at 4 Mar 2026, 06:09.")
    assert ".." not in sentence and "a.m." not in page
