from django import template

from integrations.xero.inbound import inbox

register = template.Library()


@register.inclusion_tag("xero/receiver_health.html")
def xero_receiver_health():
    """The webhook receiver's health, for the Add Ons page."""
    return {"health": inbox.receiver_health()}
