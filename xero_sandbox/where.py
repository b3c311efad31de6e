"""The subset of Xero's `where` filter (Dynamic LINQ) the integration uses, evaluated on serialised elements.

Supported: `Field=="text"`, `Field!="text"`, `Field==null`, `Field!=null`, `Field==Guid("…")`,
`Field==true|false|number`, `Field.Contains("text")`, `Field.StartsWith("text")`, `Field.EndsWith("text")`,
joined by `AND`/`&&` and `OR`/`||` (AND binds tighter), with parentheses, and dotted paths such as
`Contact.ContactID`. Text comparisons ignore case, as Xero's do. Quoted text may hold anything,
including the words AND and OR; a double quote inside it is written twice (`Name=="The ""Best"" Ltd"`),
as Dynamic LINQ escapes it — a backslash is an ordinary character there.

Conditions are evaluated left to right and stop as soon as the answer is known, as C#'s `&&` and `||`
do. That matters because Xero runs the filter as code: a method called on a field an element does not
have fails the whole query with a null reference (`AccountNumber.Contains(" ")` on a contact without an
account number), unless an earlier condition rules that element out (`AccountNumber!=null&&…`).

A long chain of `Field=="a" OR Field=="b" …` on one field — how the integration looks up many codes in
one call — is matched by a set lookup rather than condition by condition.
"""

import re
from dataclasses import dataclass

from .gateway import ApiError
from .xero_json import post_data_invalid

TEXT = r'"(?:[^"]|"")*"'  # a quoted literal; "" inside stands for one "
CONDITION = re.compile(
    rf"""(?P<field>[A-Za-z][\w.]*?)\s*
    (?: (?P<op>==|!=)\s*(?P<value>Guid\(\s*{TEXT}\s*\)|{TEXT}|true\b|false\b|null\b|-?\d+(?:\.\d+)?)
      | \.(?P<method>Contains|StartsWith|EndsWith)\(\s*(?P<arg>{TEXT})\s*\) )""",
    re.VERBOSE | re.IGNORECASE,
)
KEYWORD = re.compile(r"(?P<word>\(|\)|&&|\|\||(?:AND|OR)\b)", re.IGNORECASE)
WORDS = {"(": "(", ")": ")", "&&": "AND", "||": "OR", "and": "AND", "or": "OR"}
NULL = object()  # the literal `null`
NULL_REFERENCE = (
    "The where clause could not be evaluated: {call} was called on a null reference "
    "(Object reference not set to an instance of an object). Guard it first: {field}!=null&&{call}"
)


@dataclass
class Filter:
    """The parsed filter: a tree of ("AND"|"OR", [parts]) and condition dicts, plus a set index when it
    is a plain OR of `Field=="text"` on one field."""

    tree: object
    equals_any: tuple | None = None


def parse(expression: str) -> Filter:
    """The filter as a tree; raises ApiError (400) on anything it does not understand."""
    tokens = _tokens(expression)
    tree, position = _disjunction(tokens, 0, expression)
    if position != len(tokens):
        raise _unparseable(expression)
    return Filter(tree, _equality_index(tree))


def matches(element: dict, parsed: Filter) -> bool:
    """Whether the element passes; raises ApiError (400) where Xero's query would fail on it."""
    if parsed.equals_any:
        path, values = parsed.equals_any
        return str(_lookup(element, path) or "").lower() in values
    return _evaluate(element, parsed.tree)


def _unparseable(expression: str) -> ApiError:
    return ApiError(post_data_invalid(f"Unable to parse the where clause: {expression.strip()[:500]}"))


# --- Reading the expression ------------------------------------------------------------------------
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
    if condition["value"]:
        condition["expected"] = _literal(condition["value"])
    else:
        condition["expected"] = _text(condition["arg"]).lower()
    return condition


def _disjunction(tokens: list, position: int, expression: str):
    return _chain(tokens, position, expression, "OR", _conjunction)


def _conjunction(tokens: list, position: int, expression: str):
    return _chain(tokens, position, expression, "AND", _term)


def _chain(tokens: list, position: int, expression: str, word: str, operand):
    """`operand (word operand)*`, kept in order; a single operand stands for itself."""
    parts = []
    while True:
        part, position = operand(tokens, position, expression)
        parts.append(part)
        if position >= len(tokens) or tokens[position] != word:
            break
        position += 1
    return (parts[0] if len(parts) == 1 else (word, parts)), position


def _term(tokens: list, position: int, expression: str):
    token = tokens[position] if position < len(tokens) else None
    if isinstance(token, dict):
        return token, position + 1
    if token == "(":
        tree, position = _disjunction(tokens, position + 1, expression)
        if position < len(tokens) and tokens[position] == ")":
            return tree, position + 1
    raise _unparseable(expression)


def _equality_index(tree) -> tuple | None:
    """(path, {values}) when the filter is only `Field=="text"` conditions on one field, OR-ed."""
    conditions = tree[1] if isinstance(tree, tuple) and tree[0] == "OR" else [tree]
    if not all(isinstance(c, dict) for c in conditions):
        return None
    paths = {tuple(part.lower() for part in c["path"]) for c in conditions}
    if len(paths) != 1 or any(c["op"] != "==" or not isinstance(c["expected"], str) for c in conditions):
        return None
    return conditions[0]["path"], {c["expected"] for c in conditions}


def _text(literal: str) -> str:
    """The text of a quoted literal: the quotes taken off and each doubled quote made one."""
    return literal[1:-1].replace('""', '"')


def _literal(text: str):
    if text.lower().startswith("guid("):
        return _text(text[text.index("(") + 1 : text.rindex(")")].strip()).lower()
    if text.startswith('"'):
        return _text(text).lower()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() == "null":
        return NULL
    return float(text)


# --- Evaluating ----------------------------------------------------------------------------------
def _evaluate(element: dict, tree) -> bool:
    if isinstance(tree, dict):
        return _holds(element, tree)
    word, parts = tree
    if word == "AND":
        return all(_evaluate(element, part) for part in parts)  # all() and any() stop early, as && and || do
    return any(_evaluate(element, part) for part in parts)


def _lookup(element: dict, path: tuple):
    value = element
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value[part] if part in value else _ignoring_case(value, part)
    return value


def _ignoring_case(mapping: dict, key: str):
    """The value under `key` whatever its case (as Xero matches field names), or None."""
    return next((v for k, v in mapping.items() if k.lower() == key.lower()), None)


def _number_or_none(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _holds(element: dict, condition: dict) -> bool:
    actual = _lookup(element, condition["path"])
    expected = condition["expected"]
    if condition["method"]:
        return _method_holds(actual, condition)
    if expected is NULL:
        equal = actual is None
    elif isinstance(expected, str):
        equal = str(actual or "").lower() == expected
    elif isinstance(expected, float) and actual is not None:
        equal = _number_or_none(actual) == expected
    else:
        equal = actual == expected
    return equal if condition["op"] == "==" else not equal


def _method_holds(actual, condition: dict) -> bool:
    if actual is None:
        call = f"{condition['field']}.{condition['method']}()"
        raise ApiError(post_data_invalid(NULL_REFERENCE.format(call=call, field=condition["field"])))
    text, expected, method = str(actual).lower(), condition["expected"], condition["method"].lower()
    if method == "contains":
        return expected in text
    return text.startswith(expected) if method == "startswith" else text.endswith(expected)
