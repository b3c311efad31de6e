"""A document's lines are capped, and a crafted line count costs the server nothing: the form refuses
more than MAX_LINES before building a line form, and the rate and tax drop-downs are read once however
many lines are shown or posted."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.forms import MAX_LINES
from billing.models import Invoice

from .factories import BillingAccountFactory, RateFactory, TaxRateFactory, draft_with_lines, line
from .test_views import invoice_post, line_data

pytestmark = pytest.mark.django_db


def queries_of(call) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return len(captured), result


def test_a_new_invoice_posted_with_2000_lines_and_no_rows_is_refused_before_any_line_form_is_built(staff):
    data = invoice_post(BillingAccountFactory())
    data["form-TOTAL_FORMS"] = "2000"
    with CaptureQueriesContext(connection) as captured:
        response = staff.post(reverse("billing:invoice_create"), data)
    assert response.status_code == 400
    assert response.content.decode() == f"A document has at most {MAX_LINES} lines; 2000 were posted."
    billing_reads = [q["sql"] for q in captured.captured_queries if '"billing_' in q["sql"]]
    assert billing_reads == []  # only the session and the user's permissions: no rate, tax rate or line
    assert not Invoice.objects.exists()


def test_an_edit_posted_with_more_lines_than_the_cap_changes_nothing(staff):
    draft = draft_with_lines(line(), reference="BEFORE")
    data = invoice_post(draft.billing_account, reference="AFTER")
    data["form-TOTAL_FORMS"] = str(MAX_LINES + 1)
    response = staff.post(reverse("billing:invoice_edit", args=[draft.pk]), data)
    assert response.status_code == 400
    assert Invoice.objects.get().reference == "BEFORE"


@pytest.mark.parametrize("count", ["-1", "two", ""])
def test_a_line_count_that_is_not_a_count_is_refused_with_a_message(staff, count):
    data = invoice_post(BillingAccountFactory())
    data["form-TOTAL_FORMS"] = count
    response = staff.post(reverse("billing:invoice_create"), data)
    assert response.status_code == 400
    assert "line count" in response.content.decode()
    assert not Invoice.objects.exists()


def test_a_document_of_exactly_the_cap_is_saved(staff):
    account, rate, tax = BillingAccountFactory(), RateFactory(), TaxRateFactory()
    response = staff.post(reverse("billing:invoice_create"), invoice_post(account, *[line_data(rate, tax)] * MAX_LINES))
    assert response.status_code == 302
    assert Invoice.objects.get().lines.count() == MAX_LINES


def test_the_rate_and_tax_choices_are_read_once_whatever_the_line_count(staff):
    RateFactory.create_batch(20), TaxRateFactory.create_batch(5)
    few = draft_with_lines(*[line() for _ in range(2)])
    many = draft_with_lines(*[line() for _ in range(40)])
    shown_few, _ = queries_of(lambda: staff.get(reverse("billing:invoice_edit", args=[few.pk])))
    shown_many, _ = queries_of(lambda: staff.get(reverse("billing:invoice_edit", args=[many.pk])))
    assert shown_many == shown_few

    account, rate, tax = BillingAccountFactory(), RateFactory(), TaxRateFactory()
    with CaptureQueriesContext(connection) as posted:
        staff.post(reverse("billing:invoice_create"), invoice_post(account, *[line_data(rate, tax)] * 40))
    assert Invoice.objects.latest("pk").lines.count() == 40
    assert choice_reads(posted, "billing_rate") == 1 and choice_reads(posted, "billing_taxrate") == 1


def choice_reads(captured, table: str) -> int:
    """Reads of the table's rows (not the saving service's per-line existence checks of a foreign key)."""
    return sum(1 for query in captured.captured_queries if query["sql"].startswith(f'SELECT "{table}"."id"'))
