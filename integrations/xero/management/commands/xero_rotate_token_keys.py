from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.xero.link import crypto
from integrations.xero.models import XeroConnection


class Command(BaseCommand):
    help = (
        "Re-encrypt the stored Xero tokens with the first key of XERO_TOKEN_KEYS, so that older keys "
        "can then be removed from the setting."
    )

    def handle(self, *args, **options):
        count = 0
        with transaction.atomic():
            for connection in XeroConnection.objects.select_for_update().exclude(access_token_encrypted=""):
                connection.access_token_encrypted = crypto.reencrypt(connection.access_token_encrypted)
                connection.refresh_token_encrypted = crypto.reencrypt(connection.refresh_token_encrypted)
                connection.save(update_fields=["access_token_encrypted", "refresh_token_encrypted"])
                count += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the tokens of {count} Xero link(s) with the newest key."))
