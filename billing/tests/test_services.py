import datetime
import inspect
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from billing import services
from billing.models import Invoice, InvoiceLine
from billing.signals import document_issued

from .factories import (
    BillingAccountFactory,
    InvoiceFactory,
    RateFactory,
    TaxRateFactory,
    draft_with_lines,
    line,
)

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = datetime.date(2026, 11, 27)


@pytest.fixture
def received():
    """The invoices that `document_issued` announced, in order."""
    announced = []

    def receiver(sender, invoice, **kwargs):
        announced.append(invoice.number)

    document_issued.connect(receiver)
    yield announced
    document_issued.disconnect(receiver)


def issue(invoice, **kwargs):
    return services.invoice_issue(invoice=invoice, today=TODAY, **kwargs)


def test_saving_a_draft_computes_line_amounts_and_totals():
    gst = TaxRateFactory(rate=D("15"))
    invoice = draft_with_lines(
        line(quantity="2.5", unit_price="100.10", tax_rate=gst),
        line(quantity="1", unit_price="0.335", tax_rate=gst),
    )
    net = [invoice_line.net_amount for invoice_line in invoice.lines.all()]
    assert net == [D("250.25"), D("0.34")]
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (D("250.59"), D("37.59"), D("288.18"))


def test_saving_a_draft_again_replaces_its_lines():
    invoice = draft_with_lines(line(), line())
    services.invoice_save_draft(invoice=invoice, lines=[line(unit_price="5")])
    assert invoice.lines.count() == 1
    assert invoice.subtotal == D("5.00")


def test_issuing_numbers_dates_and_locks_the_document():
    invoice = draft_with_lines(billing_account=BillingAccountFactory(payment_terms_days=14))
    issued = issue(invoice)
    assert issued.status == Invoice.Status.ISSUED
    assert issued.number == "INV-000001"
    assert (issued.issue_date, issued.due_date) == (TODAY, datetime.date(2026, 12, 11))
    assert issued.issued_at is not None


def test_numbers_follow_one_sequence_per_kind():
    numbers = [issue(draft_with_lines()).number for _ in range(2)]
    credit = issue(draft_with_lines(kind=Invoice.Kind.CREDIT_NOTE)).number
    assert numbers == ["INV-000001", "INV-000002"]
    assert credit == "CN-000001"


def test_a_date_already_set_on_the_draft_is_kept():
    invoice = draft_with_lines(issue_date=datetime.date(2026, 11, 1), due_date=datetime.date(2026, 11, 20))
    issued = issue(invoice)
    assert (issued.issue_date, issued.due_date) == (datetime.date(2026, 11, 1), datetime.date(2026, 11, 20))


def test_issuing_uses_the_tax_rates_current_percentage():
    gst = TaxRateFactory(rate=D("15"))
    invoice = draft_with_lines(line(unit_price="100", tax_rate=gst))
    gst.rate = D("12.5")
    gst.save()
    assert issue(invoice).total == D("112.50")


def test_a_draft_without_lines_cannot_be_issued_and_stays_a_draft():
    invoice = InvoiceFactory()
    with pytest.raises(ValidationError, match="Add at least one line"):
        issue(invoice)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == (Invoice.Status.DRAFT, None)


def test_a_line_whose_rate_has_no_revenue_code_blocks_the_issue():
    cost_only = RateFactory(label="Trucking cost", revenue_account_code="")
    invoice = draft_with_lines(line(rate=cost_only))
    with pytest.raises(ValidationError, match="Line 1: the rate “Trucking cost” has no revenue account code"):
        issue(invoice)


def test_an_invoice_with_a_negative_total_cannot_be_issued():
    invoice = draft_with_lines(line(unit_price="-10"))
    with pytest.raises(ValidationError, match="Issue a credit note instead"):
        issue(invoice)


def test_a_failed_issue_does_not_use_up_a_number():
    with pytest.raises(ValidationError):
        issue(draft_with_lines(line(unit_price="-10")))
    assert issue(draft_with_lines()).number == "INV-000001"


def test_an_issued_document_cannot_be_issued_again_or_edited():
    invoice = issue(draft_with_lines())
    with pytest.raises(ValidationError, match="cannot be changed"):
        issue(invoice)
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.invoice_save_draft(invoice=invoice, lines=[line()])
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.invoice_delete_draft(invoice=invoice)
    assert InvoiceLine.objects.filter(invoice=invoice).count() == 1


def test_a_credit_note_can_only_be_issued_for_an_issued_or_paid_invoice():
    invoice = issue(draft_with_lines())
    credit_note = draft_with_lines(
        kind=Invoice.Kind.CREDIT_NOTE, billing_account=invoice.billing_account, credited_invoice=invoice
    )
    services.invoice_record_accounting_status(invoice=invoice, status="voided")
    with pytest.raises(ValidationError, match="is voided: only an issued or paid invoice can be credited"):
        issue(credit_note)
    credit_note.refresh_from_db()
    assert credit_note.is_draft


@pytest.mark.parametrize(
    "credited_account, credited_currency, message",
    [
        ("other", "NZD", "was raised to another billing account"),
        ("same", "AUD", "is in AUD: its credit note must be in AUD too"),
    ],
)
def test_a_credit_note_for_another_accounts_or_currencys_invoice_is_not_saved(
    credited_account, credited_currency, message
):
    account = BillingAccountFactory(currency="NZD")
    owner = account if credited_account == "same" else BillingAccountFactory()
    credited = issue(draft_with_lines(billing_account=owner, currency=credited_currency))
    with pytest.raises(ValidationError, match=message):
        draft_with_lines(kind=Invoice.Kind.CREDIT_NOTE, billing_account=account, credited_invoice=credited)
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


def test_issuing_still_refuses_a_credit_note_whose_credited_invoice_is_another_accounts():
    # Saved before the rule held at save time, or written around the services.
    credited = issue(draft_with_lines())
    credit_note = draft_with_lines(kind=Invoice.Kind.CREDIT_NOTE)
    Invoice.objects.filter(pk=credit_note.pk).update(credited_invoice=credited)
    with pytest.raises(ValidationError, match="belongs to another billing account"):
        issue(Invoice.objects.get(pk=credit_note.pk))


def test_a_credit_note_crediting_an_issued_invoice_is_issued():
    invoice = issue(draft_with_lines())
    credit_note = draft_with_lines(
        kind=Invoice.Kind.CREDIT_NOTE, billing_account=invoice.billing_account, credited_invoice=invoice
    )
    assert issue(credit_note).number == "CN-000001"


def test_the_issued_signal_fires_only_after_the_transaction_commits(django_capture_on_commit_callbacks, received):
    invoice = draft_with_lines()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        issue(invoice)
        assert received == []  # still inside the transaction
    assert len(callbacks) == 1
    assert received == ["INV-000001"]


def test_the_issued_signal_does_not_fire_when_the_transaction_rolls_back(django_capture_on_commit_callbacks, received):
    invoice = draft_with_lines()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        issue(invoice)
        raise RuntimeError("the surrounding work failed")
    assert received == []
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT


def test_a_failing_listener_does_not_undo_the_issue_and_is_logged(django_capture_on_commit_callbacks, caplog):
    def broken_listener(sender, invoice, **kwargs):
        raise ConnectionError("broker down")

    document_issued.connect(broken_listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            issued = issue(draft_with_lines())
    finally:
        document_issued.disconnect(broken_listener)
    issued.refresh_from_db()
    assert issued.status == Invoice.Status.ISSUED
    assert "broker down" in caplog.text and "INV-000001" in caplog.text


@pytest.mark.parametrize(
    "path",
    [
        ["paid"],
        ["voided"],
        ["deleted"],
        ["paid", "issued"],  # a payment removed in accounting
        ["paid", "issued", "voided"],
    ],
)
def test_accounting_status_changes_follow_the_lifecycle(path):
    invoice = issue(draft_with_lines())
    for status in path:
        assert services.invoice_record_accounting_status(invoice=invoice, status=status) is True
    invoice.refresh_from_db()
    assert invoice.status == path[-1]


def test_recording_the_same_accounting_status_twice_changes_nothing():
    invoice = issue(draft_with_lines())
    services.invoice_record_accounting_status(invoice=invoice, status="paid")
    changed_at = Invoice.objects.get(pk=invoice.pk).status_changed_at
    assert services.invoice_record_accounting_status(invoice=invoice, status="paid") is False
    assert Invoice.objects.get(pk=invoice.pk).status_changed_at == changed_at


@pytest.mark.parametrize(
    "start, target, message",
    [
        ([], "paid", "cannot go from draft to paid"),
        (["voided"], "issued", "cannot go from voided to issued"),
        (["deleted"], "paid", "cannot go from deleted to paid"),
    ],
)
def test_illegal_accounting_status_changes_are_refused_with_a_clear_message(start, target, message):
    invoice = draft_with_lines()
    if start:
        issue(invoice)
        services.invoice_record_accounting_status(invoice=invoice, status=start[0])
    before = Invoice.objects.get(pk=invoice.pk).status
    with pytest.raises(ValidationError, match=message):
        services.invoice_record_accounting_status(invoice=invoice, status=target)
    assert Invoice.objects.get(pk=invoice.pk).status == before


def test_an_unknown_accounting_status_is_refused_with_a_clear_message():
    invoice = issue(draft_with_lines())
    with pytest.raises(ValidationError, match="“AUTHORISED” is not a document status"):
        services.invoice_record_accounting_status(invoice=invoice, status="AUTHORISED")
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.ISSUED


def test_a_draft_whose_amounts_a_document_cannot_hold_is_refused_and_not_saved():
    big = line(quantity="99999999999.9999", unit_price="100")
    with pytest.raises(ValidationError, match=r"Line 1: 9,999,999,999,999.99 plus .* more than a document can hold"):
        draft_with_lines(big)
    assert not Invoice.objects.exists()


def test_a_total_that_a_raised_tax_rate_takes_beyond_what_a_document_holds_blocks_the_issue():
    tax = TaxRateFactory(rate=D("0"))
    invoice = draft_with_lines(line(quantity="600000000", unit_price="1000", tax_rate=tax))
    tax.rate = D("100")
    tax.save()
    with pytest.raises(ValidationError, match="The total 1,200,000,000,000.00 is more than a document can hold"):
        issue(invoice)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.total) == (Invoice.Status.DRAFT, D("600000000000.00"))
    assert issue(draft_with_lines()).number == "INV-000001"  # the refused issue used no number


def test_an_issue_date_too_late_to_add_the_payment_terms_to_is_refused():
    invoice = draft_with_lines(issue_date=datetime.date(9999, 12, 31))
    with pytest.raises(ValidationError, match="leaves no room for the payment terms"):
        issue(invoice)
    assert issue(draft_with_lines(issue_date=datetime.date(9999, 12, 1), due_date=datetime.date(9999, 12, 31)))


def test_services_and_selectors_take_keyword_arguments_only():
    from billing import selectors

    for module in (services, selectors):
        for name, function in vars(module).items():
            if inspect.isfunction(function) and function.__module__ == module.__name__ and not name.startswith("_"):
                kinds = {parameter.kind for parameter in inspect.signature(function).parameters.values()}
                assert kinds <= {inspect.Parameter.KEYWORD_ONLY}, f"{module.__name__}.{name}"


def test_a_part_payment_is_recorded_without_changing_the_status():
    invoice = issue(draft_with_lines())
    changed = services.invoice_record_accounting_status(invoice=invoice, status="issued", amount_paid=Decimal("3.50"))
    stored = Invoice.objects.get(pk=invoice.pk)
    assert changed is False
    assert (stored.status, stored.amount_paid, invoice.amount_paid) == ("issued", Decimal("3.50"), Decimal("3.50"))


@pytest.mark.parametrize("amount", [Decimal("-0.01"), Decimal("1e12")])
def test_an_amount_paid_that_cannot_be_is_refused_and_changes_nothing(amount):
    invoice = issue(draft_with_lines())
    with pytest.raises(ValidationError, match="is not an amount paid"):
        services.invoice_record_accounting_status(invoice=invoice, status="paid", amount_paid=amount)
    stored = Invoice.objects.get(pk=invoice.pk)
    assert (stored.status, stored.amount_paid) == ("issued", Decimal("0.00"))
