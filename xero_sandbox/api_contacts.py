"""Contacts: `GET /Contacts` (where, IDs, includeArchived, searchTerm, If-Modified-Since, order,
paging), `PUT /Contacts` (create), `POST /Contacts` (create or update), `GET`/`POST /Contacts/{id}`.

Xero's rules (../shared/docs/xero-api.md §5), kept here:
- AccountNumber: at most 50 characters, unique in the organisation, archived contacts included.
- Name: required, unique among ACTIVE contacts only, so un-archiving can clash too.
- A POST element with ContactID updates that contact; without one it updates the active contact
  of the same Name (Xero's long-standing match on Name), or else creates a contact.
- IsCustomer, IsSupplier and the other read-only fields of a request are ignored.
- TaxNumber and TaxNumberType are kept as given (any text), and shown only when set.
- Elements are checked one by one against the books as the earlier elements left them, so two
  elements of one batch clash with each other exactly as with stored contacts.
- `summarizeErrors=false`: 200, every element back with StatusAttributeString OK or ERROR, the good
  ones written. Otherwise one bad element makes the batch a 400 and nothing is written.
"""

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from django.db.models import Q
from django.db.models.functions import Lower

from . import events
from .api_reference import filtered
from .conf import sandbox_setting
from .gateway import ApiCall, ApiError, ApiResult, accounting_endpoint
from .models import Contact, Organisation
from .serializers import contact_element
from .xero_json import envelope, json_response, post_data_invalid, problem, validation_exception

ACTIVE, ARCHIVED = "ACTIVE", "ARCHIVED"
MAX_PAGE_SIZE = 1000

# Xero's wording where it is known (seen in its answers or in its specification), else plausible.
NAME_REQUIRED = "Contact Name cannot be empty."
NAME_TAKEN = (
    "The contact name {name} is already assigned to another contact. "
    "The contact name must be unique across all active contacts."
)
NUMBER_TAKEN = "The Account Number already exists, please enter a different Account Number."
TOO_LONG = "{field} must not be more than {limit} characters long."
LIMITS = (
    ("name", "Contact Name", 255),
    ("account_number", "Account Number", 50),
    ("email", "Email Address", 255),
    ("tax_number", "Tax Number", 50),
    ("tax_number_type", "Tax Number Type", 50),
)
STATUS_NOT_SETTABLE = "ContactStatus can only be set to ACTIVE or ARCHIVED."
UNKNOWN_CONTACT = "The contact with ContactID {id} does not exist."
CREATE_ONLY = "A contact with ContactID {id} already exists: PUT only creates contacts, use POST to update."
NOT_A_CONTACT = "The element is not a contact."


@accounting_endpoint
def contacts(call: ApiCall) -> ApiResult:
    if call.request.method == "GET":
        return _list(call)
    if call.request.method in ("PUT", "POST"):
        return _save(call, _body_elements(call), may_update=call.request.method == "POST")
    raise ApiError(problem(405, "Method Not Allowed", f"{call.request.method} is not allowed on Contacts"))


@accounting_endpoint
def contact(call: ApiCall, contact_id: str) -> ApiResult:
    found = _stored_contact(call.organisation, contact_id)
    if call.request.method == "GET":
        return ApiResult(envelope(Contacts=[contact_element(found)]), elements=1)
    if call.request.method == "POST":
        # The path names the contact, whatever ContactID the body carries (or leaves out).
        element = _body_elements(call)[0]
        element = {**element, "ContactID": str(found.contact_id)} if isinstance(element, dict) else element
        return _save(call, [element], may_update=True)
    raise ApiError(problem(405, "Method Not Allowed", f"{call.request.method} is not allowed on a contact"))


ROUTES = {"contacts": contacts, "contacts/*": contact}


# --- reading -------------------------------------------------------------------------------------


def _list(call: ApiCall) -> ApiResult:
    elements = _ordered(call, filtered(call, [contact_element(c) for c in _selected(call)]))
    page = _whole_number(call, "page")
    if page is None:  # without `page` Xero answers every contact at once
        return ApiResult(envelope(Contacts=elements), elements=len(elements))
    size = min(_whole_number(call, "pageSize") or sandbox_setting("PAGE_SIZE"), MAX_PAGE_SIZE)
    shown = elements[(page - 1) * size : page * size]
    count = len(elements)
    pagination = {"page": page, "pageSize": size, "pageCount": math.ceil(count / size), "itemCount": count}
    return ApiResult(envelope(pagination=pagination, Contacts=shown), elements=len(shown))


def _selected(call: ApiCall):
    """The stored contacts the query parameters other than `where` and `order` pick."""
    chosen = call.organisation.contacts.all()
    if not call.flag("includeArchived", False):  # also when asking by IDs or where
        chosen = chosen.exclude(status=ARCHIVED)
    if call.param("IDs").strip():
        chosen = chosen.filter(contact_id__in=_contact_ids(call.param("IDs")))
    since = _modified_since(call.request.headers.get("If-Modified-Since", ""))
    if since:
        chosen = chosen.filter(updated_at__gt=since)
    term = call.param("searchTerm").strip()
    if term:  # Name and email; Xero's searchTerm does not look at AccountNumber
        chosen = chosen.filter(Q(name__icontains=term) | Q(email__icontains=term))
    return chosen


def _contact_ids(text: str) -> list[uuid.UUID]:
    ids = [part.strip() for part in text.split(",") if part.strip()]
    parsed = [_uuid_or_none(part) for part in ids]
    if None in parsed:
        raise ApiError(post_data_invalid(f"'{ids[parsed.index(None)]}' is not a valid ContactID."))
    return parsed


def _modified_since(header: str) -> datetime | None:
    """The SDK sends ISO 8601; HTTP clients send an HTTP date. A time without zone is UTC."""
    if not header.strip():
        return None
    try:
        moment = datetime.fromisoformat(header.strip())
    except ValueError:
        try:
            moment = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None  # Xero ignores a header it cannot read
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ordered(call: ApiCall, elements: list[dict]) -> list[dict]:
    """By Name unless `order=Field [ASC|DESC]` says otherwise; text ignores case, as Xero's does."""
    field, _, direction = (call.param("order").strip() or "Name").partition(" ")
    elements = sorted(elements, key=lambda element: str(element["ContactID"]))  # a stable tie-break

    def key(element):
        value = next((v for k, v in element.items() if k.lower() == field.lower()), None)
        return (value is None, str(value).lower() if isinstance(value, str) else str(value))

    return sorted(elements, key=key, reverse=direction.strip().upper() == "DESC")


def _whole_number(call: ApiCall, name: str) -> int | None:
    text = call.param(name).strip()
    if not text:
        return None
    try:
        return max(1, int(text))
    except ValueError:
        raise ApiError(post_data_invalid(f"'{text}' is not a valid value for {name}.")) from None


def _stored_contact(organisation: Organisation, contact_id: str) -> Contact:
    # A path that is no ContactID would be a ContactNumber, which the sandbox does not keep.
    wanted = _uuid_or_none(contact_id)
    found = organisation.contacts.filter(contact_id=wanted).first() if wanted else None
    if found is None:
        raise ApiError(problem(404, "Not Found", "The resource you're looking for cannot be found"))
    return found


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None


# --- writing -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    element: dict  # the contact as written, or the element as sent when it was refused
    errors: list[str]

    def shown(self, *, with_status: bool) -> dict:
        element = dict(self.element)
        if self.errors:
            element |= {"HasValidationErrors": True, "ValidationErrors": [{"Message": m} for m in self.errors]}
        if with_status:
            element["StatusAttributeString"] = "ERROR" if self.errors else "OK"
        return element


def _body_elements(call: ApiCall) -> list:
    body = call.body if isinstance(call.body, dict) else {}
    elements = next((value for key, value in body.items() if key.lower() == "contacts"), None)
    if not isinstance(elements, list) or not elements:
        raise ApiError(
            json_response(
                {
                    "ErrorNumber": 17,
                    "Type": "NoDataProcessedException",
                    "Message": "No data has been processed for this endpoint. This endpoint is expecting Contact data "
                    "to be specifed in the request body.",
                },
                status=400,
            )
        )
    return elements


def _save(call: ApiCall, elements: list, *, may_update: bool) -> ApiResult:
    # One writer per organisation at a time, so that two batches cannot both take a free number.
    list(Organisation.objects.select_for_update().filter(pk=call.organisation.pk).values_list("pk"))
    books = Books.load(call.organisation, elements)
    outcomes = [books.apply(element, may_update=may_update) for element in elements]
    summarize = call.flag("summarizeErrors", True)
    if summarize and any(outcome.errors for outcome in outcomes):
        # Raised, not returned: the handler's transaction rolls back what the good elements wrote.
        refused = [outcome.shown(with_status=False) for outcome in outcomes if outcome.errors]
        raise ApiError(validation_exception(refused))
    shown = [outcome.shown(with_status=not summarize) for outcome in outcomes]
    return ApiResult(envelope(Contacts=shown), elements=len(shown))


class Books:
    """The contacts a batch can update or clash with, kept current as the batch is applied."""

    def __init__(self, organisation: Organisation, known: list[Contact]):
        self.organisation = organisation
        self.known = known

    @classmethod
    def load(cls, organisation: Organisation, elements: list) -> "Books":
        fields = [_fields(element) for element in elements if isinstance(element, dict)]
        names = {_text(f, "name").lower() for f in fields} - {""}
        numbers = {_text(f, "accountnumber").lower() for f in fields} - {""}
        ids = {_uuid_or_none(f.get("contactid")) for f in fields} - {None}
        targets = list(organisation.contacts.filter(contact_id__in=ids))
        # A target that keeps its name or number (un-archiving, say) can clash with them too.
        names |= {c.name.lower() for c in targets}
        numbers |= {c.account_number.lower() for c in targets} - {""}
        others = (
            organisation.contacts.annotate(lower_name=Lower("name"), lower_number=Lower("account_number"))
            .filter(Q(lower_name__in=names) | Q(lower_number__in=numbers))
            .exclude(contact_id__in=ids)
        )
        return cls(organisation, targets + list(others))

    def apply(self, element, *, may_update: bool) -> Outcome:
        if not isinstance(element, dict):
            return Outcome({}, [NOT_A_CONTACT])
        fields = _fields(element)
        target, errors = self._target(fields, may_update)
        wanted = _wanted(fields, target) if not errors else {}
        errors = errors or self._problems(wanted, target)
        if errors:
            return Outcome(element, errors)
        return Outcome(contact_element(self._write(wanted, target)), [])

    def _target(self, fields: dict, may_update: bool) -> tuple[Contact | None, list[str]]:
        """The stored contact this element changes (None: a new one), or why there is none."""
        if _text(fields, "contactid"):
            contact_id = _uuid_or_none(fields["contactid"])
            found = next((c for c in self.known if contact_id and c.contact_id == contact_id), None)
            if found is None:
                return None, [UNKNOWN_CONTACT.format(id=fields["contactid"])]
            return (found, []) if may_update else (None, [CREATE_ONLY.format(id=fields["contactid"])])
        name = _text(fields, "name").lower()
        if may_update and name:
            return next((c for c in self.known if c.status == ACTIVE and c.name.lower() == name), None), []
        return None, []

    def _problems(self, wanted: dict, target: Contact | None) -> list[str]:
        errors = [] if wanted["name"] else [NAME_REQUIRED]
        errors += [
            TOO_LONG.format(field=label, limit=limit) for key, label, limit in LIMITS if len(wanted[key]) > limit
        ]
        if wanted["status"] not in (ACTIVE, ARCHIVED) and wanted["status"] != getattr(target, "status", None):
            errors.append(STATUS_NOT_SETTABLE)
        number, name = wanted["account_number"].lower(), wanted["name"].lower()
        if number and self._held_by_another(target, lambda c: c.account_number.lower() == number):
            errors.append(NUMBER_TAKEN)  # archived contacts keep their number
        if (
            name
            and wanted["status"] == ACTIVE
            and self._held_by_another(target, lambda c: c.status == ACTIVE and c.name.lower() == name)
        ):
            errors.append(NAME_TAKEN.format(name=wanted["name"]))
        return errors

    def _held_by_another(self, target: Contact | None, holds) -> bool:
        return any(holds(c) for c in self.known if c is not target)

    def _write(self, wanted: dict, target: Contact | None) -> Contact:
        contact = target or Contact(organisation=self.organisation)
        for key, value in wanted.items():
            setattr(contact, key, value)
        if target is None:
            contact.save()
            self.known.append(contact)
        else:  # only what the API may change: IsCustomer is the invoices' business
            contact.save(update_fields=[*wanted, "updated_at"])
        events.record_event(
            organisation=self.organisation,
            category="CONTACT",
            resource_id=contact.contact_id,
            event_type="UPDATE" if target else "CREATE",
        )
        return contact


def _fields(element: dict) -> dict:
    """The element's fields by lower-cased name: Xero reads JSON names without regard to case."""
    return {str(key).lower(): value for key, value in element.items()}


def _text(fields: dict, name: str, default: str = "") -> str:
    value = fields.get(name)
    return default if value is None else str(value).strip()


def _wanted(fields: dict, target: Contact | None) -> dict:
    """The contact's stored fields after this element: what it leaves out stays as it was."""
    current = target or Contact(status=ACTIVE)
    return {
        "name": _text(fields, "name", current.name),
        "account_number": _text(fields, "accountnumber", current.account_number),
        "email": _text(fields, "emailaddress", current.email),
        "tax_number": _text(fields, "taxnumber", current.tax_number),
        # Any text: real Xero answers values (TAXNUMBERTYPE/EIN) the SDK cannot send, so tests send them raw.
        "tax_number_type": _text(fields, "taxnumbertype", current.tax_number_type),
        "status": (_text(fields, "contactstatus") or current.status).upper(),
    }
