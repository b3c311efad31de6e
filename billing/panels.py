"""Add-ons show their own panel on a document's page (its accounting sync state, say) by registering
a function here; billing renders whatever they return and knows nothing else of them."""

from collections.abc import Callable

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
