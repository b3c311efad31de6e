"""Amounts as people read them: grouped thousands and two decimals; a unit price keeps a third and fourth
decimal only when it has them (freight is priced per kilo or cubic metre)."""

from decimal import Decimal, InvalidOperation

from django import template
from django.template.defaultfilters import floatformat

register = template.Library()

MOST_PRICE_PLACES = 4


@register.filter
def money(value) -> str:
    return floatformat(value, "2g")


@register.filter
def price(value) -> str:
    try:
        places = -Decimal(value).normalize().as_tuple().exponent
    except (InvalidOperation, TypeError, ValueError):
        return ""
    return floatformat(value, f"{min(max(places, 2), MOST_PRICE_PLACES)}g")


@register.filter
def rate(value) -> str:
    """An exchange rate with the places it has (at most six, as kept), e.g. 0.5895."""
    try:
        return format(Decimal(value).normalize(), "f")
    except (InvalidOperation, TypeError, ValueError):
        return ""
