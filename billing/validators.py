import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

no_surrounding_spaces = RegexValidator(
    r"^\S(.*\S)?$",
    "Remove the spaces at the start or end: the code must match the accounting system exactly.",
    code="surrounding_spaces",
)


def validate_account_code(value: str) -> None:
    """A rate's code: `CODE`, or `PREFIX|CODE` where only CODE goes to accounting."""
    if any(char.isspace() for char in value):
        raise ValidationError("A code cannot contain spaces.", code="spaces")
    parts = value.split("|")
    if len(parts) > 2 or not all(parts):
        raise ValidationError(
            "Use CODE or PREFIX|CODE (one pipe, text on both sides), for example 200 or SEA|200.",
            code="bad_prefix",
        )


# Characters a code may not hold, by what they are: a code is compared character for character with the
# accounting system's (and put inside quotes in its queries), so nothing unseen or quoting may hide in it.
QUOTES = {'"': "a double quote", "“": "a curly quote", "”": "a curly quote", "„": "a low quote", "‟": "a quote"}
INVISIBLE_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character",
    "Co": "a private-use character",
    "Cs": "a lone surrogate",
    "Cn": "an unassigned character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def normalized_code(value: str) -> str:
    """A code as it is kept: NFKC, so that a fullwidth ＵＮＩ１ or a ligature is the plain text it shows."""
    return unicodedata.normalize("NFKC", value)


def validate_code_characters(value: str) -> None:
    """Refuse, naming it, a character that is invisible, a control, a quote or a space other than a plain one."""
    for position, char in enumerate(value, start=1):
        what = _refused(char)
        if what:
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            raise ValidationError(
                f"The code holds {what} ({name}, U+{ord(char):04X}) at position {position}: "
                "remove it; codes must match the accounting system exactly.",
                code="bad_character",
            )


def _refused(char: str) -> str:
    if char in QUOTES:
        return QUOTES[char]
    category = unicodedata.category(char)
    if category in INVISIBLE_CATEGORIES:
        return INVISIBLE_CATEGORIES[category]
    if category == "Zs" and char != " ":
        return "a space other than a plain space"
    return ""


# Letters of other scripts that look like Latin ones (the common part of Unicode's confusables): two codes
# that differ only in these, in case or in spaces are one code to a person reading them.
LOOK_ALIKES = str.maketrans(
    "АВСЕНІЈКМОРЅТХУаеіјорсѕхуΑΒΕΖΗΙΚΜΝΟΡΤΥΧοϲ",
    "ABCEHIJKMOPSTXYaeijopcsxyABEZHIKMNOPTYXoc",
)


def code_skeleton(value: str) -> str:
    """What a code looks like to a person: NFKC, look-alike letters as their Latin twins, no spaces, any case."""
    return normalized_code(value).translate(LOOK_ALIKES).replace(" ", "").casefold()
