"""The sandbox's webhook sender for a chaos run (`python -m chaos.sender`): `deliver_due` every half
second, with the run's chaos knobs — batches sent twice, due deliveries sent newest first, and short
retry delays (the receiver is down for a while; the sandbox retries as Xero does, on a compressed clock).
"""

import argparse
import logging
import time

import django

logger = logging.getLogger("chaos.sender")
RETRY_DELAYS = (3, 6, 12, 24, 48, 96, 192, 384)  # Xero's schedule (10 s ... 8 h), shortened


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duplicate-rate", type=float, default=0.0)
    parser.add_argument("--reorder", action="store_true")
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args()
    django.setup()
    from django.conf import settings
    from django.db import DatabaseError, close_old_connections

    from xero_sandbox.webhooks import deliver_due

    settings.XERO_SANDBOX.update(
        {  # read at call time (xero_sandbox/conf.py)
            "WEBHOOK_DUPLICATE_RATE": args.duplicate_rate,
            "WEBHOOK_REORDER": args.reorder,
            "WEBHOOK_RETRY_DELAYS": RETRY_DELAYS,
        }
    )
    while True:
        close_old_connections()
        try:
            deliver_due()
        except DatabaseError:
            logger.exception("Webhook round failed; the next one tries again")
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
