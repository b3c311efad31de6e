"""Xero's `where` as Dynamic LINQ reads it: `null`, doubled quotes inside text, and a method called on a
field an element does not have, which fails the whole query unless an earlier condition guards it."""

import pytest
from xero_python.exceptions import AccountingBadRequestException

from xero_sandbox import where
from xero_sandbox.models import Contact


def names(linked, expression: str) -> list[str]:
    return [c.name for c in linked.api.get_contacts(linked.tenant(), where=expression).contacts]


def refusal(linked, expression: str) -> str:
    with pytest.raises(AccountingBadRequestException) as error:
        linked.api.get_contacts(linked.tenant(), where=expression)
    assert error.value.error_data["Type"] == "PostDataInvalidException"
    return error.value.error_data["Message"]


# --- null ----------------------------------------------------------------------------------------
def test_field_equals_null_finds_the_elements_without_it(linked):
    assert names(linked, "AccountNumber==null") == ["Kiwi Traders", "Office Supplies Co"]
    assert names(linked, "AccountNumber!=NULL") == ["Acme Imports Ltd", "Harbour Logistics"]


# --- Methods on a missing field ------------------------------------------------------------------
def test_a_method_on_a_field_some_element_lacks_fails_the_whole_query(linked):
    message = refusal(linked, 'AccountNumber.Contains(" ")')
    assert "null reference" in message and "AccountNumber!=null&&AccountNumber.Contains()" in message


def test_an_unguarded_method_fails_even_beside_conditions_that_would_match(linked):
    # How the integration looks for near misses: exact numbers, or any number holding a space.
    message = refusal(linked, 'AccountNumber=="ACME01" OR AccountNumber.Contains(" ")')
    assert "AccountNumber.Contains() was called on a null reference" in message


def test_a_guard_before_the_method_lets_the_query_through(linked, nz):
    Contact.objects.create(organisation=nz, name="Pacific Shipping Co", account_number="PAC 02")
    assert names(linked, 'AccountNumber!=null&&AccountNumber.Contains(" ")') == ["Pacific Shipping Co"]
    guarded = 'AccountNumber=="ACME01" OR (AccountNumber!=null AND AccountNumber.Contains(" "))'
    assert names(linked, guarded) == ["Acme Imports Ltd", "Pacific Shipping Co"]


def test_a_guard_after_the_method_comes_too_late(linked):
    message = refusal(linked, 'AccountNumber.Contains(" ")&&AccountNumber!=null')
    assert "null reference" in message and "Guard it first" in message


def test_methods_on_fields_every_element_has_never_fail(linked):
    assert names(linked, 'Name.StartsWith("kiwi") || Name.EndsWith("CO")') == ["Kiwi Traders", "Office Supplies Co"]


# --- Quotes --------------------------------------------------------------------------------------
def test_two_double_quotes_in_text_stand_for_one(linked, nz):
    Contact.objects.create(organisation=nz, name='The "Best" Freight Ltd')
    assert names(linked, 'Name=="The ""Best"" Freight Ltd"') == ['The "Best" Freight Ltd']
    assert names(linked, 'Name.Contains("""Best""")') == ['The "Best" Freight Ltd']


def test_a_long_or_chain_of_quoted_names_still_reads_doubled_quotes(linked, nz):
    Contact.objects.create(organisation=nz, name='The "Best" Freight Ltd')
    chain = " OR ".join(['Name=="Nobody Ltd"', 'Name=="the ""best"" freight ltd"', 'Name=="Kiwi Traders"'])
    assert where.parse(chain).equals_any is not None  # the set look-up, not condition by condition
    assert names(linked, chain) == ["Kiwi Traders", 'The "Best" Freight Ltd']


def test_a_backslash_is_an_ordinary_character_and_does_not_escape_a_quote(linked, nz):
    Contact.objects.create(organisation=nz, name="Back\\Slash Ltd")
    assert names(linked, 'Name=="Back\\Slash Ltd"') == ["Back\\Slash Ltd"]
    assert "Unable to parse" in refusal(linked, 'Name=="The \\"Best\\" Freight Ltd"')


def test_null_and_escapes_are_read_into_conditions():
    parsed = where.parse('Name=="a ""b""" && Email!=null')
    assert parsed.equals_any is None
    assert parsed.tree[0] == "AND"
    assert [c["expected"] for c in parsed.tree[1]] == ['a "b"', where.NULL]
