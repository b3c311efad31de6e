from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from xero_sandbox.seeding import seed_demo_documents, seed_if_empty
from xero_sandbox.seeding_scale import seed_scale_organisations


class Command(BaseCommand):
    help = "Register the platform's app with the Xero sandbox and, if it has none, create its demo organisations."

    def add_arguments(self, parser):
        parser.add_argument(
            "--organisations",
            type=int,
            default=0,
            metavar="N",
            help='Also make sure N more organisations exist ("Scale Org 0001 Ltd" …), each with the NZ demo '
            "organisation's books; running it again creates only those missing.",
        )

    def handle(self, *args, **options):
        if not settings.XERO_CLIENT_ID or not settings.XERO_CLIENT_SECRET:
            raise CommandError("Set XERO_CLIENT_ID and XERO_CLIENT_SECRET: the sandbox registers that app.")
        if options["organisations"] < 0:
            raise CommandError("--organisations takes a number of organisations, 0 or more.")
        created = seed_if_empty()
        if created:
            seed_demo_documents(created[0])
            self.stdout.write(self.style.SUCCESS("Sandbox organisations: " + ", ".join(o.name for o in created)))
        else:
            self.stdout.write("Sandbox already has organisations; app registration refreshed.")
        if options["organisations"]:
            scale = seed_scale_organisations(count=options["organisations"])
            self.stdout.write(self.style.SUCCESS(f"Scale organisations: {len(scale)} ({scale[-1].name} the last)."))
