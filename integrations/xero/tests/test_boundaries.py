"""The add-on's boundaries, read from its source: only the `api` package speaks HTTP to Xero, and the
rest reach Xero's accounting calls only through `XeroApi`, which paces every request and takes a fresh
token for it."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
TALKS_TO_XERO = {"api/accounting.py", "api/transport.py"}  # the SDK's requests; api/oauth.py uses transport's pool


def _sources():
    return [path for path in PACKAGE.rglob("*.py") if "tests" not in path.parts and "migrations" not in path.parts]


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_only_the_api_package_imports_the_xero_sdk():
    importers = {
        _relative(path)
        for path in _sources()
        if any(
            name.startswith("xero_python") for node in ast.walk(ast.parse(path.read_text())) for name in _imported(node)
        )
    }
    assert importers == TALKS_TO_XERO


def test_accounting_calls_go_through_xero_api_which_paces_them():
    strays = sorted(
        (_relative(path), node.attr)
        for path in _sources()
        if _relative(path) not in ("api/accounting.py", "api/xero_api.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "accounting"
        and not node.attr.startswith("_")
    )
    assert strays == []


def test_nothing_outside_the_api_package_opens_http_to_xero():
    http_users = sorted(
        _relative(path)
        for path in _sources()
        if not _relative(path).startswith("api/")
        for node in ast.walk(ast.parse(path.read_text()))
        if any(
            name.split(".")[0] in {"urllib3", "requests", "httpx"} or name.endswith(("api.transport", "api.accounting"))
            for name in _imported(node)
        )
    )
    assert http_users == []


def _imported(node) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [f"{node.module or ''}.{alias.name}" for alias in node.names] + [node.module or ""]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return []
