import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from xero_sandbox.models import App
from xero_sandbox.webhooks import deliver_due, intent_to_receive

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Send the sandbox's webhooks as Xero would, from its own process: every second until Ctrl-C, "
        "or once with --once. --intent-to-receive runs Xero's check of the webhook URL instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Send what is due, then exit.")
        parser.add_argument("--intent-to-receive", action="store_true", help="Check each app's webhook URL.")
        parser.add_argument("--client-id", default="", help="Only this app (for --intent-to-receive).")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between rounds.")

    def handle(self, *args, once=False, intent_to_receive=False, client_id="", interval=1.0, **options):
        if intent_to_receive:
            self.check_intent_to_receive(client_id)
        elif once:
            self.deliver()
        else:
            self.loop(interval)

    def loop(self, interval: float) -> None:
        self.stdout.write(f"Sending the sandbox's webhooks every {interval:g} s; Ctrl-C to stop.")
        try:
            while True:
                close_old_connections()  # a long-lived process must not keep a dead connection
                try:
                    self.deliver()
                except DatabaseError:  # e.g. a locked SQLite file: the next round tries again
                    logger.exception("Webhook round failed")
                time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")

    def deliver(self) -> None:
        for delivery in deliver_due():
            self.stdout.write(
                f"{delivery.app} events {delivery.first_sequence}-{delivery.last_sequence}: "
                f"{delivery.state}, attempt {delivery.attempts}, "
                f"{delivery.last_status_code or delivery.last_error}"
            )

    def check_intent_to_receive(self, client_id: str) -> None:
        apps = App.objects.exclude(webhook_url="")
        if client_id:
            apps = apps.filter(client_id=client_id)
        if not apps:
            raise CommandError("No app with a webhook URL to check.")
        failed = [app for app in apps if not self.report_intent_to_receive(app)]
        if failed:
            raise CommandError("Intent to receive failed for " + ", ".join(str(app) for app in failed))

    def report_intent_to_receive(self, app: App) -> bool:
        result = intent_to_receive(app=app)
        self.stdout.write(f"{app} {result['url']}: {'passed' if result['passed'] else 'FAILED'}")
        for answer in result["answers"]:
            outcome = "ok" if answer["passed"] else answer["problem"]
            self.stdout.write(f"  {answer['signature']} signature -> {answer['status']}: {outcome}")
        return result["passed"]
