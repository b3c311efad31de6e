from django.core.management.base import BaseCommand, CommandError

from billing.models import Company
from integrations.xero.models import XeroConnection
from integrations.xero.setup import setup_check

BLOCKING_EXIT, CANNOT_RUN_EXIT = 1, 2


class Command(BaseCommand):
    help = (
        "Print the Xero set-up check: every billing account, rate and tax rate that Xero would reject. "
        f"Exits {BLOCKING_EXIT} when there are blocking (✗) problems, {CANNOT_RUN_EXIT} when the check cannot run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--cached",
            action="store_true",
            help="Use the chart of accounts and tax rates read before, unless stale (default: read them again).",
        )
        parser.add_argument("--company", help="The company's name, when there are several (default: the first).")

    def handle(self, *args, cached=False, company=None, **options):
        chosen = Company.objects.filter(name=company).first() if company else Company.objects.default()
        if chosen is None:
            raise CommandError(f"There is no company named {company!r}.", returncode=CANNOT_RUN_EXIT)
        connection = XeroConnection.objects.current(chosen)
        if connection is None:
            raise CommandError(
                f"Xero is not linked for {chosen}: link it on the Add Ons page first.", returncode=CANNOT_RUN_EXIT
            )
        report = setup_check.setup_check_run(connection=connection, refresh=not cached)
        self.stdout.write(setup_check.report_text(report))
        if report.errors:
            raise CommandError(" ".join(report.errors), returncode=CANNOT_RUN_EXIT)
        if report.blocking:
            raise CommandError(
                f"{report.blocking} blocking problem{'s' if report.blocking != 1 else ''}: "
                "documents that use them will not reach Xero.",
                returncode=BLOCKING_EXIT,
            )
