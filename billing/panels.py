"""Add-ons say, before a document is issued, why their accounting system would refuse it (registering an
issue check); they show their own panel on a document's page (its accounting sync state, say) or on a
billing account's page by registering a function here, and an accounting state in the document list
(`accounting_state`, with a label in `accounting_state_label`) by registering a queryset annotation, and
help with the codes typed into the rate and tax rate forms by registering a code advisor; billing renders
whatever they return and knows nothing else of them."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.db.models import QuerySet
from django.http import HttpRequest

from .models import BillingAccount, Company, Invoice

DocumentPanel = Callable[[HttpRequest, Invoice], str]
_document_panels: list[DocumentPanel] = []


def register_document_panel(panel: DocumentPanel) -> DocumentPanel:
    if panel not in _document_panels:
        _document_panels.append(panel)
    return panel


def document_panels(request: HttpRequest, invoice: Invoice) -> list[str]:
    """Each registered panel's HTML (empty ones left out)."""
    return [html for html in (panel(request, invoice) for panel in _document_panels) if html]


AccountPanel = Callable[[HttpRequest, BillingAccount], str]
_account_panels: list[AccountPanel] = []


def register_account_panel(panel: AccountPanel) -> AccountPanel:
    """An add-on's panel on a billing account's page (what the account's documents carry there, say)."""
    if panel not in _account_panels:
        _account_panels.append(panel)
    return panel


def account_panels(request: HttpRequest, account: BillingAccount) -> list[str]:
    return [html for html in (panel(request, account) for panel in _account_panels) if html]


ListAnnotation = Callable[[QuerySet], QuerySet]
_list_annotations: list[ListAnnotation] = []


def register_document_list_annotation(annotation: ListAnnotation) -> ListAnnotation:
    if annotation not in _list_annotations:
        _list_annotations.append(annotation)
    return annotation


def annotate_document_list(documents: QuerySet) -> QuerySet:
    for annotation in _list_annotations:
        documents = annotation(documents)
    return documents


@dataclass(frozen=True)
class CodeAdvice:
    """An add-on's help with one code field: the codes to offer, as (code, "code — name"), and what is
    wrong with the code entered ("" when nothing is). Saving is never refused on its word."""

    choices: tuple[tuple[str, str], ...] = ()
    warning: str = ""


class CodeAdvisor(Protocol):
    """Each method answers None when the add-on has nothing to say (not linked, say). Codes are the part
    sent to accounting (after any PREFIX|)."""

    def revenue_account_advice(self, code: str) -> CodeAdvice | None: ...

    def tax_code_advice(
        self, code: str, percentage: Decimal | None, *, company: Company | None = None
    ) -> CodeAdvice | None: ...


_code_advisors: list[CodeAdvisor] = []


def register_code_advisor(advisor: CodeAdvisor) -> CodeAdvisor:
    if advisor not in _code_advisors:
        _code_advisors.append(advisor)
    return advisor


def revenue_account_advice(code: str) -> list[CodeAdvice]:
    return [advice for advice in (a.revenue_account_advice(code) for a in _code_advisors) if advice]


def tax_code_advice(code: str, percentage: Decimal | None, *, company: Company | None = None) -> list[CodeAdvice]:
    """What the add-ons say of a tax rate's code, judged in its company's accounting organisation."""
    advice = (advisor.tax_code_advice(code, percentage, company=company) for advisor in _code_advisors)
    return [one for one in advice if one]


@dataclass(frozen=True)
class IssueConcern:
    """Why an add-on expects its accounting system to refuse a document, in a sentence. `final` when issuing
    anyway would only leave a locked document nobody can send (a currency the system lacks, say); otherwise
    the person may issue anyway and fix the cause before the document is sent again."""

    says: str
    final: bool = False


IssueCheck = Callable[[Invoice], list[IssueConcern]]
_issue_checks: list[IssueCheck] = []


def register_issue_check(check: IssueCheck) -> IssueCheck:
    if check not in _issue_checks:
        _issue_checks.append(check)
    return check


def issue_concerns(invoice: Invoice) -> list[IssueConcern]:
    return [concern for check in _issue_checks for concern in check(invoice)]


IssueDestination = Callable[[Invoice], str]
_issue_destinations: list[IssueDestination] = []


def register_issue_destination(destination: IssueDestination) -> IssueDestination:
    """An add-on that sends issued documents on says where, in a sentence, on the Issue confirmation."""
    if destination not in _issue_destinations:
        _issue_destinations.append(destination)
    return destination


def issue_destinations(invoice: Invoice) -> list[str]:
    return [says for destination in _issue_destinations if (says := destination(invoice))]
