import datetime

from django.core.management.base import BaseCommand, CommandError

from integrations.xero.inbound import reconciliation
from integrations.xero.models import XeroConnection


def _day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"“{text}” is not a date: write YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = (
        "Bring back from Xero the statuses (paid, voided, deleted) of documents Xero changed in a date range "
        "(UTC), in each linked organisation, as the periodic reconciliation does; its own place is left where it is."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", type=_day, required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--until", type=_day, help="last day, YYYY-MM-DD (default: up to now)")

    def handle(self, *args, since, until, **options):
        start = datetime.datetime.combine(since, datetime.time.min, tzinfo=datetime.UTC)
        end = until and datetime.datetime.combine(until, datetime.time.max, tzinfo=datetime.UTC)
        if end is not None and end < start:
            raise CommandError("--until is before --since.")
        connections = list(XeroConnection.objects.active().order_by("pk"))
        if not connections:
            raise CommandError("Nothing done: the platform is not linked to Xero (or the link needs re-linking).")
        problems = [self._reconcile(one, start, end, named=len(connections) > 1) for one in connections]
        if any(problems):
            raise CommandError(" ".join(filter(None, problems)))

    def _reconcile(self, connection, start, end, *, named: bool) -> str:
        """One organisation (each company's in turn): print how it went, or return what stopped it."""
        who = f"{connection.tenant_name}: " if named else ""
        row = reconciliation.reconciliation_run(connection=connection, since=start, until=end)
        if row is None:
            return f"{who}Nothing done: a reconciliation is running already."
        if row.last_error:
            return f"{who}Stopped: {row.last_error} ({row.last_checked} documents read back before that)."
        self.stdout.write(
            self.style.SUCCESS(
                f"{who}Read back {row.last_checked} documents the platform sent: {row.last_changed} changed status. "
                f"{row.last_ignored} other documents changed in Xero were ignored (not sent by the platform)."
            )
        )
        return ""
