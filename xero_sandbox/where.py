"""The subset of Xero's `where` filter the integration uses, evaluated on serialised elements.

Supported: `Field=="text"`, `Field!="text"`, `Field==Guid("…")`, `Field==true|false|number`,
`Field.Contains("text")`, `Field.StartsWith("text")`, `Field.EndsWith("text")`, joined by
`AND`/`&&` and `OR`/`||` (AND binds tighter), with parentheses, and dotted paths such as
`Contact.ContactID`. Text comparisons ignore case, as Xero's do. Quoted text may hold anything
but a double quote, including the words AND and OR.

`parse` answers OR-groups of AND-ed conditions (parentheses multiplied out). A long chain of
`Field=="a" OR Field=="b" …` on one field — how the integration looks up many codes in one
call — is matched by a set lookup rather than condition by condition.
"""

import re

from .gateway import ApiError
from .xero_json import post_data_invalid

CONDITION = re.compile(
    r"""(?P<field>[A-Za-z][\w.]*?)\s*
    (?: (?P<op>==|!=)\s*(?P<value>Guid\("[^"]*"\)|"[^"]*"|true\b|false\b|-?\d+(?:\.\d+)?)
      | \.(?P<method>Contains|StartsWith|EndsWith)\(\s*"(?P<arg>[^"]*)"\s*\) )""",
    re.VERBOSE | re.IGNORECASE,
)
KEYWORD = re.compile(r"(?P<word>\(|\)|&&|\|\||(?:AND|OR)\b)", re.IGNORECASE)
WORDS = {"(": "(", ")": ")", "&&": "AND", "||": "OR", "and": "AND", "or": "OR"}


class Groups(list):
    """The parsed filter: a list of AND-groups, plus a set index when it is a plain OR of equalities."""

    equals_any: tuple | None = None


def parse(expression: str) -> Groups:
    """OR-groups of AND-ed conditions; raises ApiError (400) on anything it does not understand."""
    tokens = _tokens(expression)
    groups, position = _disjunction(tokens, 0, expression)
    if position != len(tokens):
        raise _unparseable(expression)
    parsed = Groups(groups)
    parsed.equals_any = _equality_index(parsed)
    return parsed


def matches(element: dict, groups) -> bool:
    index = getattr(groups, "equals_any", None)
    if index:
        path, values = index
        return str(_lookup(element, path) or "").lower() in values
    return any(all(_holds(element, condition) for condition in group) for group in groups)


def _unparseable(expression: str) -> ApiError:
    return ApiError(post_data_invalid(f"Unable to parse the where clause: {expression.strip()[:500]}"))


def _tokens(expression: str) -> list:
    """`(`, `)`, `AND`, `OR` and condition dicts, in order."""
    tokens, position = [], 0
    while position < len(expression):
        if expression[position].isspace():
            position += 1
            continue
        keyword = KEYWORD.match(expression, position)
        condition = None if keyword else CONDITION.match(expression, position)
        if keyword:
            tokens.append(WORDS[keyword["word"].lower()])
            position = keyword.end()
        elif condition:
            tokens.append(_condition(condition))
            position = condition.end()
        else:
            raise _unparseable(expression)
    return tokens


def _condition(match: re.Match) -> dict:
    condition = match.groupdict()
    condition["path"] = tuple(condition["field"].split("."))
    condition["expected"] = _literal(condition["value"]) if condition["value"] else condition["arg"].lower()
    return condition


def _disjunction(tokens: list, position: int, expression: str):
    groups, position = _conjunction(tokens, position, expression)
    while position < len(tokens) and tokens[position] == "OR":
        more, position = _conjunction(tokens, position + 1, expression)
        groups = groups + more
    return groups, position


def _conjunction(tokens: list, position: int, expression: str):
    groups, position = _term(tokens, position, expression)
    while position < len(tokens) and tokens[position] == "AND":
        more, position = _term(tokens, position + 1, expression)
        groups = [left + right for left in groups for right in more]
    return groups, position


def _term(tokens: list, position: int, expression: str):
    token = tokens[position] if position < len(tokens) else None
    if isinstance(token, dict):
        return [[token]], position + 1
    if token == "(":
        groups, position = _disjunction(tokens, position + 1, expression)
        if position < len(tokens) and tokens[position] == ")":
            return groups, position + 1
    raise _unparseable(expression)


def _equality_index(groups: list) -> tuple | None:
    """(path, {values}) when every group is one `Field=="text"` on the same field."""
    if not groups or any(len(group) != 1 for group in groups):
        return None
    conditions = [group[0] for group in groups]
    paths = {tuple(part.lower() for part in c["path"]) for c in conditions}
    if len(paths) != 1 or any(c["op"] != "==" or not isinstance(c["expected"], str) for c in conditions):
        return None
    return conditions[0]["path"], {c["expected"] for c in conditions}


def _lookup(element: dict, path: tuple):
    value = element
    for part in path:
        if not isinstance(value, dict):
            return None
        if part in value:
            value = value[part]
        else:
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


def _number_or_none(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _holds(element: dict, condition: dict) -> bool:
    actual = _lookup(element, condition["path"])
    expected = condition["expected"]
    if condition["method"]:
        text, method = str(actual or "").lower(), condition["method"].lower()
        if method == "contains":
            return expected in text
        return text.startswith(expected) if method == "startswith" else text.endswith(expected)
    if isinstance(expected, str):
        actual = str(actual or "").lower()
    elif isinstance(expected, float) and actual is not None:
        actual = _number_or_none(actual)
    equal = actual == expected
    return equal if condition["op"] == "==" else not equal
