"""Look-ups by many values (Account Numbers, document numbers, ids) in as few requests as Xero's edge
lets through: split by the URL-encoded length of each request (XERO_REQUEST_BUDGET), and read again in
halves when Xero cannot read one, so that one odd value never fails the others."""

import urllib.parse
from collections.abc import Callable

from django.conf import settings

from integrations.xero.api import answers, transport
from integrations.xero.api.errors import XeroError, XeroRejected
from integrations.xero.api.values import Found


def text_condition(field: str, text: str) -> str:
    """`Field=="text"`. Xero's `where` cannot hold a double quote inside quoted text (escaped or not, it
    answers QueryParseException), so text holding one is looked for by its longest part without one,
    guarded because the field is optional; the caller keeps exact matches. "" when nothing is left."""
    if '"' not in text:
        return f'{field}=="{text}"'
    part = unquoted(text)
    return f'({field}!=null&&{field}.Contains("{part}"))' if part else ""


def unquoted(text: str) -> str:
    return max(text.split('"'), key=len)


def split_read(
    conditions: list[str],
    read: Callable[[list[str]], list],
    *,
    path: str,
    name: str,
    joiner: str,
    fixed: dict | None = None,
) -> Found:
    """Read `conditions` in as few requests as the length budget allows (each paced by `read`). A
    request Xero refuses (a 400: it could not read the query) is read again in halves, so that only the
    condition it cannot read fails."""
    items, refused = [], {}
    pending = within_budget(conditions, path=path, name=name, joiner=joiner, fixed=fixed or {})
    while pending:
        chunk = pending.pop(0)
        try:
            items += read(chunk)
        except XeroRejected as error:
            if len(chunk) == 1:
                refused[chunk[0]] = answers.xero_says(error.details) or error.message
            else:
                pending[:0] = [chunk[: len(chunk) // 2], chunk[len(chunk) // 2 :]]
    return Found(items, refused)


def within_budget(terms: list[str], *, path: str, name: str, joiner: str, fixed: dict) -> list[list[str]]:
    """`terms` in groups whose request — `path?fixed&name=term<joiner>term…`, URL-encoded as the SDK sends
    it — stays within XERO_REQUEST_BUDGET characters (Xero's edge answers longer ones with a 404)."""
    room = (
        settings.XERO_REQUEST_BUDGET
        - len(transport.accounting_path(path))
        - len("?")
        - len(urllib.parse.urlencode({**fixed, name: ""}))
    )
    separator = len(urllib.parse.quote_plus(joiner))
    groups, current, used = [], [], 0
    for term in terms:
        size = len(urllib.parse.quote_plus(term))
        if size > room:
            raise XeroError(
                f"A look-up in Xero would be too long to send ({size} characters): {term[:80]}…", permanent=True
            )
        if current and used + separator + size > room:
            groups.append(current)
            current, used = [], 0
        used += size + (separator if current else 0)
        current.append(term)
    return groups + [current] if current else groups
