"""Property: whatever is posted to the invoice form, the answer is never a 500; when the answer is
the form again (200) nothing was saved; when it is a redirect, the draft saved reads back and can
be put through the Issue button without a 500 either."""

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from billing import services
from billing.models import Invoice, InvoiceLine

from .factories import BillingAccountFactory, RateFactory, TaxRateFactory, draft_with_lines, line

pytestmark = pytest.mark.django_db

# Rows are named by these placeholders in the generated posts and replaced by their ids at run time.
ACCOUNTS = ["@account", "@other_account"]
RATES = ["@rate", "@cost_only_rate"]
TAX_RATES = ["@gst", "@zero"]
ISSUED = ["@issued_mine", "@issued_theirs"]
PAGES = ["@create", "@create_credit_note", "@edit_draft"]
LARGEST = "99999999999.9999"  # the most a quantity or unit price keeps: 15 digits

text = st.text(st.characters(codec="utf-8"), max_size=20)
odd_strings = st.sampled_from(["", "   ", "NaN", "Infinity", "-0", "1e30", "1e-5", "0", "-1"])


def mostly(valid, *hostile):
    """Valid values nine times in ten, so that whole drafts get saved and issued too."""
    hostile = st.one_of(*hostile)
    return st.integers(min_value=0, max_value=9).flatmap(lambda roll: hostile if roll == 9 else valid)


def choice_of(names):
    return mostly(st.sampled_from(names), st.integers().map(str), odd_strings, text)


# Valid values lean to the edges: the largest figures a line keeps, and the calendar's last day.
numbers = mostly(
    st.sampled_from(["1", "185.50", "0.0001", "-10", "1000000", LARGEST, f"-{LARGEST}"]),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers().map(str),
    odd_strings,
    text,
)
any_date = st.dates().map(lambda day: day.isoformat())
issue_dates = mostly(st.sampled_from(["", "2026-11-27", "9999-12-31"]), any_date, text)
due_dates = mostly(st.sampled_from(["", "", "2026-12-31"]), any_date, text)
line_fields = {
    "rate": choice_of(RATES),
    "description": mostly(st.sampled_from(["", "Sea freight"]), text, st.just("d" * 4001)),
    "quantity": numbers,
    "unit_price": numbers,
    "tax_rate": choice_of(TAX_RATES),
}


@st.composite
def invoice_posts(draw) -> tuple[str, dict]:
    lines = draw(mostly(st.integers(min_value=1, max_value=3), st.just(0)))
    data = {
        "billing_account": draw(choice_of(ACCOUNTS)),
        "currency": draw(mostly(st.sampled_from(["", "NZD", "AUD"]), st.sampled_from(["XYZ", "nzd"]), text)),
        "reference": draw(mostly(text, st.just("R" * 256))),
        "issue_date": draw(issue_dates),
        "due_date": draw(due_dates),
        "credited_invoice": draw(st.one_of(st.just(""), choice_of(ISSUED))),
        "form-TOTAL_FORMS": str(lines),
        "form-INITIAL_FORMS": draw(mostly(st.just("0"), st.just("1"))),
    }
    for index in range(lines):
        every_field = sorted(line_fields)
        chosen = draw(mostly(st.just(every_field), st.sets(st.sampled_from(every_field), min_size=1)))
        data.update({f"form-{index}-{name}": draw(line_fields[name]) for name in chosen})
        if draw(st.integers(min_value=0, max_value=4)) == 4:
            data[f"form-{index}-DELETE"] = "on"
    return draw(st.sampled_from(PAGES)), data


def a_valid_post(**changes) -> dict:
    valid_line = {"rate": "@rate", "description": "", "quantity": "1", "unit_price": "1", "tax_rate": "@gst"}
    data = {
        "billing_account": "@account",
        "currency": "",
        "reference": "",
        "issue_date": "",
        "due_date": "",
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "0",
        **{f"form-0-{name}": value for name, value in valid_line.items()},
    }
    return {**data, **changes}


@pytest.fixture
def world(staff):
    """The rows the placeholders name, and the signed-in client."""
    account, other_account = BillingAccountFactory(currency="NZD"), BillingAccountFactory(currency="AUD")
    rate, cost_only_rate = RateFactory(), RateFactory(revenue_account_code="")
    gst, zero = TaxRateFactory(rate="15"), TaxRateFactory(rate="0")
    issued_mine, issued_theirs = (
        services.invoice_issue(invoice=draft_with_lines(billing_account=owner)) for owner in (account, other_account)
    )
    draft = draft_with_lines(line(rate=rate, tax_rate=gst), billing_account=account)
    rows = {
        "@account": account,
        "@other_account": other_account,
        "@rate": rate,
        "@cost_only_rate": cost_only_rate,
        "@gst": gst,
        "@zero": zero,
        "@issued_mine": issued_mine,
        "@issued_theirs": issued_theirs,
    }
    names = {name: str(row.pk) for name, row in rows.items()}
    names.update(
        {
            "@create": reverse("billing:invoice_create"),
            "@create_credit_note": reverse("billing:invoice_create") + "?kind=credit_note",
            "@edit_draft": reverse("billing:invoice_edit", args=[draft.pk]),
        }
    )
    return staff, names


def saved_rows():
    return list(Invoice.objects.order_by("pk").values()), list(InvoiceLine.objects.order_by("pk").values())


@settings(
    max_examples=60,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # explaining takes minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=invoice_posts())
@example(case=("@create", a_valid_post(**{"form-0-quantity": LARGEST, "form-0-unit_price": LARGEST})))
@example(case=("@edit_draft", a_valid_post(**{"form-0-quantity": "1000000", "form-0-unit_price": "1000000"})))
@example(case=("@create", a_valid_post(issue_date="9999-12-31")))
@example(case=("@create_credit_note", a_valid_post(credited_invoice="@issued_theirs")))
def test_no_post_to_the_invoice_form_is_a_server_error_and_a_refused_one_saves_nothing(world, case):
    client, names = world
    page, post = case
    url = names[page]
    post = {key: names.get(value, value) for key, value in post.items()}
    with transaction.atomic():
        before = saved_rows()
        response = client.post(url, post)  # a 500 raises here: the test client re-raises view errors
        assert response.status_code in (200, 302)
        if response.status_code == 200:
            assert saved_rows() == before
        else:
            saved = Invoice.objects.get(pk=int(response.url.strip("/").rsplit("/", 1)[1]))
            assert saved.lines.count() >= 1
            issued = client.post(reverse("billing:invoice_issue", args=[saved.pk]), {"confirmed": "yes"})
            assert issued.status_code == 302
        transaction.set_rollback(True)
