"""Writes that a person acting as "Xero" makes from the staff pages (payments, voids and deletes
are in `books.py`, shared with the Accounting API)."""

from django.db import transaction

from .events import record_event
from .models import Contact, Fault, Organisation, TrackingOption


class ContactRefused(ValueError):
    """Xero would refuse this change to a contact; the message is Xero's."""


@transaction.atomic
def contact_set_archived(*, contact: Contact, archived: bool) -> Contact:
    """Archive or un-archive a contact, announcing the change as Xero does (a CONTACT UPDATE event)."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    wanted = "ARCHIVED" if archived else "ACTIVE"
    if contact.status == wanted:
        return contact
    if not archived:
        _check_name_free_among_active(contact)
    contact.status = wanted
    contact.save(update_fields=["status", "updated_at"])
    record_event(
        organisation=contact.organisation, category="CONTACT", resource_id=contact.contact_id, event_type="UPDATE"
    )
    return contact


def _check_name_free_among_active(contact: Contact) -> None:
    # Names are unique among active contacts only, so un-archiving can collide with a newer contact.
    taken = (
        Contact.objects.filter(organisation=contact.organisation, status="ACTIVE", name__iexact=contact.name)
        .exclude(pk=contact.pk)
        .exists()
    )
    if taken:
        raise ContactRefused(
            f"The contact name {contact.name} is already assigned to another contact. "
            "The contact name must be unique across all active contacts."
        )


@transaction.atomic
def tracking_option_set_archived(*, option: TrackingOption, archived: bool) -> TrackingOption:
    """Archive or restore a tracking option, as a person does in Xero's tracking settings: an archived
    option stays on the lines that have it, but a new line cannot take it (nor does `GET
    /TrackingCategories` list it without includeArchived). Xero sends no webhook for it."""
    option = TrackingOption.objects.select_for_update().select_related("category").get(pk=option.pk)
    option.status = "ARCHIVED" if archived else "ACTIVE"
    option.save(update_fields=["status"])
    return option


def fault_add(
    *,
    organisation: Organisation,
    kind: str,
    method: str = "",
    path_contains: str = "",
    remaining: int | None = None,
    probability: float = 1.0,
    delay_seconds: float = 0.0,
) -> Fault:
    fault = Fault(
        organisation=organisation,
        kind=kind,
        method=method.upper(),
        path_contains=path_contains,
        remaining=remaining,
        probability=probability,
        delay_seconds=delay_seconds,
    )
    fault.full_clean()
    fault.save()
    return fault


def fault_remove(*, fault: Fault) -> None:
    fault.delete()
