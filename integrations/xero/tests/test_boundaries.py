"""The add-on's boundaries, read from its source: one module speaks HTTP to Xero, and the rest reach
Xero's accounting calls only through `XeroApi`, which paces every request and refreshes the token."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
ACCOUNTING_CALLS = {
    "read_organisation", "read_accounts", "read_tax_rates", "find_contacts", "find_contacts_like", "create_contacts",
    "create_documents", "find_documents", "find_sales_numbers_from", "credit_position", "allocate_credit_note",
    "read_invoice_states", "read_credit_note_states", "read_modified_states",
}
# Linking reads the organisation with the tokens of a consent that is not a connection yet.
ALLOWED = {("linking.py", "read_organisation")}


def _sources():
    return [path for path in PACKAGE.rglob("*.py") if "tests" not in path.parts and "migrations" not in path.parts]


def test_only_the_client_imports_the_xero_sdk():
    importers = sorted(
        path.relative_to(PACKAGE).as_posix() for path in _sources()
        if any(name.startswith("xero_python") for node in ast.walk(ast.parse(path.read_text())) for name in _imported(node))
    )
    assert importers == ["client.py"]


def test_accounting_calls_go_through_xero_api_which_paces_them():
    strays = sorted(
        (path.relative_to(PACKAGE).as_posix(), node.attr)
        for path in _sources() if path.name not in ("client.py", "xero_api.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "client"
        and node.attr in ACCOUNTING_CALLS
    )
    assert set(strays) <= ALLOWED, strays


def _imported(node) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return []
