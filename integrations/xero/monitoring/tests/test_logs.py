"""Logs a machine can read: LOG_FORMAT=json gives one JSON object a line; the sync's lines about documents carry
their ids and their organisation's, and no line ever carries a token."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pythonjsonlogger.json import JsonFormatter

from billing.tests.factories import RateFactory
from integrations.xero.conftest import issued, link, state_of
from integrations.xero.models import XeroConnection
from integrations.xero.outbound import sending

ROOT = Path(__file__).resolve().parents[4]


def _django_logging(log_format: str) -> subprocess.CompletedProcess:
    """A process configured by the settings with this LOG_FORMAT, logging one line of the sync's."""
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('integrations.xero.outbound.sending').warning("
        "'Invoice %s did not reach Xero', 'INV-000007', extra={'document_id': 7, 'organisation_id': 'abc'})"
    )
    env = {**os.environ, "LOG_FORMAT": log_format, "DJANGO_SETTINGS_MODULE": "cocoonops_xero.settings_test"}
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_log_format_json_writes_one_json_object_a_line_with_the_ids():
    answer = _django_logging("json")
    assert answer.returncode == 0, answer.stderr
    (line,) = [json.loads(line) for line in answer.stderr.splitlines() if line.startswith("{")]
    assert line["message"] == "Invoice INV-000007 did not reach Xero"
    assert (line["levelname"], line["name"]) == ("WARNING", "integrations.xero.outbound.sending")
    assert (line["document_id"], line["organisation_id"]) == (7, "abc")


def test_an_unknown_log_format_stops_the_start_with_why():
    answer = _django_logging("xml")
    assert answer.returncode != 0
    assert "LOG_FORMAT is 'xml': it must be text or json." in answer.stderr


@pytest.fixture
def json_lines():
    """Every log line of the process while the test runs, as LOG_FORMAT=json writes them."""
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(json.loads(self.format(record)))

    handler = Collect(level=logging.DEBUG)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    yield lines
    root.removeHandler(handler)
    root.level = level


def test_the_syncs_lines_carry_the_documents_and_organisation_and_never_a_token(
    sandbox, admin_client, codes, json_lines
):
    link(admin_client, sandbox["NZ"])
    connection = XeroConnection.objects.get()
    sent = [issued(codes) for _ in range(2)]
    held = issued(codes, rate=RateFactory(label="Air", revenue_account_code="AIR|999"))
    while sending.sync_round_push():
        pass
    by_message = {line["message"]: line for line in json_lines}
    failure = by_message[f"Invoice {held.number} did not reach Xero: " + state_of(held).error]
    assert (failure["document_id"], failure["organisation_id"]) == (held.pk, str(connection.tenant_id))
    success = by_message["2 documents are in Xero"]
    assert (sorted(success["document_ids"]), success["organisation_id"]) == (
        sorted(invoice.pk for invoice in sent),
        str(connection.tenant_id),
    )
    everything = json.dumps(json_lines)
    for secret in (connection.access_token, connection.refresh_token):
        assert secret and secret not in everything
