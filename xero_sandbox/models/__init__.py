from .accounting import Account, Allocation, Attachment, Contact, Document, DocumentLine, Payment, TaxRate
from .identity import (
    AccessToken,
    App,
    AuthorizationCode,
    Connection,
    ExchangeRate,
    Grant,
    Organisation,
    RefreshToken,
)
from .operations import Fault, IdempotencyRecord, RequestLog, WebhookDelivery, WebhookEvent

__all__ = [
    "AccessToken",
    "Account",
    "Allocation",
    "Attachment",
    "App",
    "AuthorizationCode",
    "Connection",
    "Contact",
    "Document",
    "DocumentLine",
    "ExchangeRate",
    "Fault",
    "Grant",
    "IdempotencyRecord",
    "Organisation",
    "Payment",
    "RefreshToken",
    "RequestLog",
    "TaxRate",
    "WebhookDelivery",
    "WebhookEvent",
]
