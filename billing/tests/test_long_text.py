"""Long text in the lists: cut to one line (class `clip`, see app.css) with the full text on hover."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from .factories import BillingAccountFactory, RateFactory, TaxRateFactory, draft_with_lines

pytestmark = pytest.mark.django_db


class ClipFinder(HTMLParser):
    """Collects (title, text) of each element whose class list holds `clip`."""

    def __init__(self):
        super().__init__()
        self.clipped: list[tuple[str, str]] = []
        self._open: list[list] = []  # [tag, title, text so far] of each clip element not yet closed

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "clip" in (attrs.get("class") or "").split():
            self._open.append([tag, attrs.get("title"), ""])

    def handle_data(self, data):
        for element in self._open:
            element[2] += data

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            _, title, text = self._open.pop()
            self.clipped.append((title, text))


def clipped(page: str) -> list[tuple[str, str]]:
    finder = ClipFinder()
    finder.feed(page)
    return finder.clipped


def listed(client, name: str) -> str:
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


def test_a_255_character_reference_is_cut_in_the_invoice_list_with_the_full_text_on_hover(staff):
    reference = "CONS-" + "7" * 250  # no space: nowhere to wrap
    draft_with_lines(reference=reference)
    assert (reference, reference) in clipped(listed(staff, "billing:invoice_list"))


def test_a_long_billing_account_name_is_cut_in_the_invoice_list_and_the_address_book(staff):
    account = BillingAccountFactory(name="Pacific-Rim-Shipping-and-Logistics-" * 7)
    draft_with_lines(billing_account=account)
    assert (account.name, account.name) in clipped(listed(staff, "billing:invoice_list"))
    assert (account.name, account.name) in clipped(listed(staff, "billing:account_list"))


def test_a_long_e_mail_is_cut_in_the_address_book(staff):
    account = BillingAccountFactory(email="accounts.payable.department." + "x" * 40 + "@example.com")
    assert (account.email, account.email) in clipped(listed(staff, "billing:account_list"))


def test_long_rate_labels_and_tax_rate_names_are_cut_in_their_lists(staff):
    rate, tax = RateFactory(label="Sea-freight-" * 8), TaxRateFactory(name="GST-on-income-" * 7)
    assert (rate.label, rate.label) in clipped(listed(staff, "billing:rate_list"))
    assert (tax.name, tax.name) in clipped(listed(staff, "billing:taxrate_list"))


def test_the_full_text_on_hover_is_escaped(staff):
    draft_with_lines(reference='PO "42" <b>&amp;')
    page = listed(staff, "billing:invoice_list")
    assert 'title="PO &quot;42&quot; &lt;b&gt;&amp;amp;"' in page
    assert ('PO "42" <b>&amp;', 'PO "42" <b>&amp;') in clipped(page)
