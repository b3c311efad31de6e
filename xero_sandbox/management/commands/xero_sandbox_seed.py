from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from xero_sandbox.seeding import seed_demo_documents, seed_if_empty


class Command(BaseCommand):
    help = "Register the platform's app with the Xero sandbox and, if it has none, create its demo organisations."

    def handle(self, *args, **options):
        if not settings.XERO_CLIENT_ID or not settings.XERO_CLIENT_SECRET:
            raise CommandError("Set XERO_CLIENT_ID and XERO_CLIENT_SECRET: the sandbox registers that app.")
        created = seed_if_empty()
        if created:
            seed_demo_documents(created[0])
            self.stdout.write(self.style.SUCCESS("Sandbox organisations: " + ", ".join(o.name for o in created)))
        else:
            self.stdout.write("Sandbox already has organisations; app registration refreshed.")
