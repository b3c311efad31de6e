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
