from django import template

from .. import statuses

register = template.Library()


@register.inclusion_tag("xero/receiver_health.html")
def xero_receiver_health():
    """The webhook receiver's health, for the Add Ons page."""
    return {"health": statuses.receiver_health()}
