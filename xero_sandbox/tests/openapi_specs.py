"""Xero's own OpenAPI specifications (in ../shared/xero-openapi, never copied into the project),
loaded once, with the spec's 23 boolean schemas whose default is the *string* "false" corrected in
memory so that strict validation accepts the document."""

import functools
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from openapi_core import OpenAPI

SPEC_DIR = Path(settings.BASE_DIR).parent / "shared" / "xero-openapi"


def fix_string_boolean_defaults(node):
    if isinstance(node, dict):
        if node.get("type") == "boolean" and node.get("default") in ("false", "true"):
            node["default"] = node["default"] == "true"
        for value in node.values():
            fix_string_boolean_defaults(value)
    elif isinstance(node, list):
        for value in node:
            fix_string_boolean_defaults(value)
    return node


@functools.cache
def load(name: str) -> OpenAPI:
    path = SPEC_DIR / name
    if not path.is_file():
        pytest.skip(f"Xero's OpenAPI specification is not at {path}")
    spec = fix_string_boolean_defaults(yaml.safe_load(path.read_text()))
    return OpenAPI.from_dict(spec)
