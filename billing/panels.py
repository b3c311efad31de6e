"""Add-ons show their own panel on a document's page (its accounting sync state, say) by registering
a function here, and an accounting state in the document list (`accounting_state`, with a label in
`accounting_state_label`) by registering a queryset annotation; billing renders whatever they return
and knows nothing else of them."""

from collections.abc import Callable

from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Invoice

DocumentPanel = Callable[[HttpRequest, Invoice], str]
_document_panels: list[DocumentPanel] = []


def register_document_panel(panel: DocumentPanel) -> DocumentPanel:
    if panel not in _document_panels:
        _document_panels.append(panel)
    return panel


def document_panels(request: HttpRequest, invoice: Invoice) -> list[str]:
    """Each registered panel's HTML (empty ones left out)."""
    return [html for html in (panel(request, invoice) for panel in _document_panels) if html]


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
