"""Xero's JSON conventions: PascalCase keys, `/Date(ms+0000)/` dates, a response envelope."""

import datetime
import json
import re
import uuid
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone

MS_DATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?P<tz>[+-]\d{4})?\)/$")


def xero_date(value: datetime.date | datetime.datetime | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time(), tzinfo=datetime.UTC)
    return f"/Date({int(value.timestamp() * 1000)}+0000)/"


def parse_xero_date(value) -> datetime.date | None:
    """Accept what Xero accepts: `/Date(ms)/` (as the SDK sends) or `YYYY-MM-DD[THH:MM:SS]`."""
    if value in (None, ""):
        return None
    match = MS_DATE.match(str(value))
    if match:
        return datetime.datetime.fromtimestamp(int(match["ms"]) / 1000, tz=datetime.UTC).date()
    return datetime.date.fromisoformat(str(value)[:10])


class XeroEncoder(json.JSONEncoder):
    def default(self, value):
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, (datetime.date, datetime.datetime)):
            return xero_date(value)
        return super().default(value)


def dumps(payload) -> bytes:
    return json.dumps(payload, cls=XeroEncoder).encode()


def envelope(**collections) -> dict:
    """The wrapper every Accounting API answer has: `{"Id", "Status", "DateTimeUTC", <collection>}`."""
    return {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": "CocoonOPS Xero sandbox",
        "DateTimeUTC": xero_date(timezone.now()),
        **collections,
    }


def json_response(payload, status: int = 200, **headers) -> HttpResponse:
    response = HttpResponse(dumps(payload), status=status, content_type="application/json; charset=utf-8")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def problem(status: int, title: str, detail: str) -> HttpResponse:
    """The problem+json body Xero's gateway answers 401/403/429 with."""
    return json_response(
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        },
        status=status,
    )


def validation_exception(elements: list[dict]) -> HttpResponse:
    """Xero's 400 for a batch with errors when summarizeErrors is not false."""
    return json_response(
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": elements,
        },
        status=400,
    )


def post_data_invalid(message: str) -> HttpResponse:
    """Xero's 400 for a body it cannot read at all."""
    return json_response({"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message}, status=400)
