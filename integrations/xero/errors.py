"""The few kinds of failure the rest of the integration needs to tell apart. Messages are written
for the administrator who reads them on the Add Ons page or in a sync exception; they never carry
a token."""


class XeroError(Exception):
    """A failed call. `permanent` failures are not retried as they are; others are."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class XeroNeedsRelink(XeroError):
    """Xero no longer accepts the link (refresh token refused, or the app was disconnected in Xero)."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True)


class XeroRateLimited(XeroError):
    """HTTP 429: nothing was written; try again after `retry_after` seconds."""

    def __init__(self, *, retry_after: int, problem: str):
        super().__init__(f"Xero's {problem or 'rate'} limit was reached; trying again in {retry_after} s.")
        self.retry_after = retry_after
        self.problem = problem


class XeroRejected(XeroError):
    """HTTP 400: Xero refused the content. `details` is Xero's answer (validation errors per element)."""

    def __init__(self, message: str, *, details=None):
        super().__init__(message, permanent=True)
        self.details = details
