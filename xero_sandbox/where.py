"""The subset of Xero's `where` filter the integration uses, evaluated on serialised elements.

Supported: `Field=="text"`, `Field!="text"`, `Field==Guid("…")`, `Field==true|false|number`,
`Field.Contains("text")`, `Field.StartsWith("text")`, joined by `AND` / `OR` (AND binds tighter),
and dotted paths such as `Contact.ContactID`. Text comparisons ignore case, as Xero's do.
"""

import re

from .gateway import ApiError
from .xero_json import post_data_invalid

CONDITION = re.compile(
    r"""^\s*(?P<field>[A-Za-z][\w.]*?)\s*
    (?: (?P<op>==|!=)\s*(?P<value>Guid\("[^"]*"\)|"[^"]*"|true|false|-?\d+(?:\.\d+)?)
      | \.(?P<method>Contains|StartsWith)\("(?P<arg>[^"]*)"\) )\s*$""",
    re.VERBOSE | re.IGNORECASE,
)


def parse(expression: str):
    """OR-groups of AND-ed conditions; raises ApiError (400) on anything it does not understand."""
    groups = []
    for group in re.split(r"\s+OR\s+", expression.strip(), flags=re.IGNORECASE):
        conditions = []
        for text in re.split(r"\s+AND\s+", group, flags=re.IGNORECASE):
            match = CONDITION.match(text.strip("() "))
            if not match:
                raise ApiError(post_data_invalid(f"Unable to parse the where clause: {text.strip()}"))
            conditions.append(match.groupdict())
        groups.append(conditions)
    return groups


def matches(element: dict, groups) -> bool:
    return any(all(_holds(element, condition) for condition in group) for group in groups)


def _lookup(element: dict, path: str):
    value = element
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    return value


def _literal(text: str):
    if text.lower().startswith("guid("):
        return text[6:-2].lower()
    if text.startswith('"'):
        return text[1:-1].lower()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return float(text)


def _holds(element: dict, condition: dict) -> bool:
    actual = _lookup(element, condition["field"])
    if condition["method"]:
        text, arg = str(actual or "").lower(), condition["arg"].lower()
        return arg in text if condition["method"].lower() == "contains" else text.startswith(arg)
    expected = _literal(condition["value"])
    if isinstance(expected, str):
        actual = str(actual or "").lower()
    elif isinstance(expected, float) and actual is not None:
        actual = float(actual)
    equal = actual == expected
    return equal if condition["op"] == "==" else not equal
