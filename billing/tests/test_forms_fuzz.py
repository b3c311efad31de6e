"""Property: whatever is posted to the billing account, rate and tax rate forms (new and edit), and
whichever document the Issue button is pressed on, the answer is never a 500; a refused post saves
nothing and shows every reason on the page; an accepted one saves what was typed.

Invoice drafts and their lines have their own property test (test_invoice_form_properties.py)."""

import html

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import services
from billing.models import BillingAccount, Invoice, InvoiceLine, Rate, TaxRate

from .factories import BillingAccountFactory, InvoiceFactory, RateFactory, TaxRateFactory, draft_with_lines, line

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            " 200",
            "200 ",
            "a\x00b",
            "<script>x</script>",
            "'; DROP TABLE x; --",
            "😀" * 5,
            "x" * 51,
            "x" * 256,
            "\u202eRTL",
            "A|B|C",
            "|200",
            "SEA|",
            "a b",
        ]
    ),
)
numbers_as_text = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "NaN", "-Infinity", "1e400", "15.00001", "100.0000", "0", "-0", "١٥"]),
)


def mostly(valid, hostile):
    """Valid values most of the time, so that saves happen as well as refusals."""
    return st.integers(0, 3).flatmap(lambda roll: hostile if roll == 0 else valid)


accounts = st.fixed_dictionaries(
    {
        "code": mostly(st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True) | st.just("TAKEN01"), hostile_text),
        "name": mostly(st.just("Acme Imports"), hostile_text),
        "email": mostly(st.just(""), st.sampled_from(["not-an-email", "a@b", "x@example.com"]) | hostile_text),
        "currency": mostly(st.sampled_from(["NZD", "AUD"]), st.sampled_from(["", "XYZ", "nzd"]) | hostile_text),
        "payment_terms_days": mostly(st.sampled_from(["0", "30", "365"]), numbers_as_text),
        "address_line1": hostile_text,
        "city": hostile_text,
        "postal_code": hostile_text,
        "country": hostile_text,
    }
)
codes = mostly(st.from_regex(r"(SEA\|)?[0-9]{3}", fullmatch=True) | st.just(""), hostile_text | st.just("TAKEN"))
rates = st.fixed_dictionaries(
    {
        "label": mostly(st.just("Sea freight"), hostile_text),
        "category": mostly(st.sampled_from([choice for choice, _ in Rate.Category.choices]), hostile_text),
        "cost_account_code": codes,
        "revenue_account_code": codes,
    }
)
tax_rates = st.fixed_dictionaries(
    {
        "name": mostly(st.text("GSTVAT ", min_size=1, max_size=10) | st.just("TAKEN"), hostile_text),
        "rate": mostly(st.sampled_from(["0", "15", "12.5", "100"]), numbers_as_text),
        "accounting_code": mostly(st.sampled_from(["OUTPUT2", "NONE", ""]), hostile_text),
    }
)
FORMS = {
    "account": (BillingAccount, "billing:account_create", "billing:account_edit", accounts),
    "rate": (Rate, "billing:rate_create", "billing:rate_edit", rates),
    "tax_rate": (TaxRate, "billing:taxrate_create", "billing:taxrate_edit", tax_rates),
}


@pytest.fixture
def existing(staff):
    """One row of each, whose values the generated posts may collide with."""
    rows = {
        "account": BillingAccountFactory(code="TAKEN01"),
        "rate": RateFactory(revenue_account_code="TAKEN"),
        "tax_rate": TaxRateFactory(name="TAKEN", rate="15"),
    }
    return staff, rows


def table(model) -> list[dict]:
    return list(model.objects.order_by("pk").values())


def assert_every_reason_is_shown(response):
    form = response.context["form"]
    assert form.errors, "a refused post says why"
    page = response.content.decode()
    for reasons in form.errors.values():
        for reason in reasons:
            assert html.escape(reason) in page or reason in page, reason


@FUZZ
@given(which=st.sampled_from(sorted(FORMS)), editing=st.booleans(), data=st.data())
def test_no_post_to_a_billing_form_is_a_server_error_and_a_refused_one_saves_nothing(existing, which, editing, data):
    client, rows = existing
    model, create_name, edit_name, fields = FORMS[which]
    post = data.draw(fields)
    url = reverse(edit_name, args=[rows[which].pk]) if editing else reverse(create_name)
    with transaction.atomic():
        before = table(model)
        response = client.post(url, post)  # a 500 raises here: the test client re-raises view errors
        assert response.status_code in (200, 302)
        if response.status_code == 200:
            assert table(model) == before
            assert_every_reason_is_shown(response)
        else:
            saved = model.objects.get(pk=rows[which].pk) if editing else model.objects.latest("pk")
            for name in ("code", "label", "name"):
                if name in post:
                    assert getattr(saved, name) == post[name].strip()
        transaction.set_rollback(True)


# --- The Issue button, on whatever document -----------------------------------------------------


def a_draft(kind: str) -> Invoice | None:
    """Drafts that issuing must refuse or accept, made directly (as a person could leave them)."""
    if kind == "missing":
        return None
    if kind == "no_lines":
        return InvoiceFactory(reference="")
    if kind == "issued":
        return services.invoice_issue(invoice=draft_with_lines())
    if kind == "last_day":
        return draft_with_lines(issue_date="9999-12-31")
    if kind == "zero_total":
        return draft_with_lines(line(unit_price="0"))
    if kind == "credit_note":
        return draft_with_lines(kind=Invoice.Kind.CREDIT_NOTE)
    return draft_with_lines(line(quantity="99999999999.9999", unit_price="1.0000"))


def documents() -> list[tuple]:
    return [
        *Invoice.objects.order_by("pk").values_list("pk", "status", "number", "total"),
        *InvoiceLine.objects.order_by("pk").values_list("pk", "net_amount"),
    ]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["missing", "no_lines", "issued", "last_day", "zero_total", "credit_note", "largest"]),
    junk=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
)
def test_pressing_issue_on_any_document_is_never_a_server_error_and_a_refusal_changes_nothing(staff, kind, junk):
    with transaction.atomic():
        draft = a_draft(kind)
        before = documents()
        url = reverse("billing:invoice_issue", args=[draft.pk if draft else 999999])
        unconfirmed = staff.post(url, junk) if "confirmed" not in junk else None
        if draft is not None and unconfirmed is not None:  # only to the confirmation, nothing changed
            assert unconfirmed.url == url and documents() == before
        response = staff.post(url, {**junk, "confirmed": "yes"})
        if draft is None:
            assert response.status_code == 404
        else:
            assert response.status_code == 302
            said = {message.level_tag for message in response.wsgi_request._messages._queued_messages}  # this answer's
            assert said, "the person is told what happened"
            after = Invoice.objects.get(pk=draft.pk)
            if "error" in said:
                assert documents() == before
            else:
                assert after.status == Invoice.Status.ISSUED and after.number
        transaction.set_rollback(True)
