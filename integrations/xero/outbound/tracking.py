"""Xero tracking categories for the platform's dimensions: a rate's service line (Sea, Air, Road…) and a
document's branch or depot, each tracked by the category an administrator chose for it on the set-up check
(`XeroConnection.tracking_for_service` / `tracking_for_branch`). A line then carries an option of each chosen
category: its rate's service line, and its document's branch. Xero refuses an option it does not have or has
archived, so those are said before sending, with where to fix them."""

from billing.models import Branch, Invoice, InvoiceLine, Rate
from integrations.xero.models import XeroConnection

SETTINGS_PLACE = "Settings › Tracking categories in Xero"


class TrackingRefused(ValueError):
    """A choice of tracking categories that Xero could not follow."""


def tracking_choose(*, connection: XeroConnection, for_service: str, for_branch: str) -> None:
    """Which of the organisation's active tracking categories the rates' service lines and the documents'
    branches are tracked by ("" for not tracked); documents sent from now on carry them."""
    names = active_categories(connection)
    for chosen in (for_service, for_branch):
        if chosen and chosen not in names:
            raise TrackingRefused(f"“{chosen}” is not an active tracking category in {connection.tenant_name}.")
    if for_service and for_service == for_branch:
        raise TrackingRefused(
            "Track service lines and branches by two different categories: a line takes one option of each."
        )
    XeroConnection.objects.filter(pk=connection.pk).update(
        tracking_for_service=for_service, tracking_for_branch=for_branch
    )


def line_tracking(invoice: Invoice, line: InvoiceLine, connection: XeroConnection) -> tuple[tuple[str, str], ...]:
    """(category, option) pairs the line is tracked by in Xero."""
    pairs = []
    if connection.tracking_for_service and line.rate.service:
        pairs.append((connection.tracking_for_service, line.rate.service))
    if connection.tracking_for_branch and invoice.branch_id:
        pairs.append((connection.tracking_for_branch, invoice.branch.name))
    return tuple(pairs)


def active_categories(connection: XeroConnection) -> list[str]:
    return [c["name"] for c in connection.tracking_categories if c["status"] == "ACTIVE"]


def option_problem(category_name: str, option: str, categories: list[dict]) -> str:
    """What Xero would say of tracking a line by this option of that category ("" when it would take it)."""
    category = _named(categories, category_name)
    if category is None or category["status"] != "ACTIVE":
        state = "is no longer in Xero" if category is None else "is archived in Xero"
        return (
            f"the tracking category “{category_name}” {state}: choose another on the Set-up check (Tracking), "
            f"or restore it under {SETTINGS_PLACE}."
        )
    found = _named(category["options"], option)
    if found is None:
        return f"“{option}” is not an option of Xero's tracking category “{category['name']}”"
    if found["status"] != "ACTIVE":
        return f"the option “{found['name']}” of Xero's tracking category “{category['name']}” is archived"
    return ""


def tracking_problems(invoice: Invoice, connection: XeroConnection) -> list[str]:
    """What Xero would refuse in the document's tracking, with what to change and where."""
    categories, problems = connection.tracking_categories, []
    for line in invoice.lines.all():
        if connection.tracking_for_service and line.rate.service:
            problems.append(_service_problem(line.rate, connection.tracking_for_service, categories))
    if connection.tracking_for_branch and invoice.branch_id:
        problems.append(_branch_problem(invoice.branch, connection.tracking_for_branch, categories))
    return list(dict.fromkeys(problem for problem in problems if problem))


def _service_problem(rate: Rate, category: str, categories: list[dict]) -> str:
    problem = option_problem(category, rate.service, categories)
    if not problem or problem.startswith("the tracking category"):
        return problem
    return (
        f"the rate “{rate.label}” (Rates › {rate.label}) has service line {rate.service}, but {problem}. "
        f"Add or restore it under {SETTINGS_PLACE}, or change the rate's service line."
    )


def _branch_problem(branch: Branch, category: str, categories: list[dict]) -> str:
    problem = option_problem(category, branch.name, categories)
    if not problem or problem.startswith("the tracking category"):
        return problem
    return (
        f"its branch is {branch.name}, but {problem}. Add or restore it under {SETTINGS_PLACE}, or pick another branch."
    )


def _named(items: list[dict], name: str) -> dict | None:
    """Xero matches tracking names without regard to case."""
    wanted = name.strip().lower()
    return next((item for item in items if item["name"].strip().lower() == wanted), None)
