"""The few kinds of failure the rest of the integration needs to tell apart. Messages are written
for the administrator who reads them on the Add Ons page or in a sync exception; they never carry
a token."""

import datetime

# Said of a call Xero did not answer at all (connection refused or dropped, no answer in time): such a
# failure has status 0, and the connection keeps its message (`last_error`) for the Add Ons page.
NO_ANSWER = "could not be reached"


def no_answer(message: str) -> bool:
    """Whether a recorded failure is one Xero did not answer, rather than an answer refusing the call."""
    return NO_ANSWER in message


class XeroError(Exception):
    """A failed call, saying what fixes it: a `permanent` failure is not retried as it is (a person must
    change something), another passes by itself; `needs_relink`, only a new link does."""

    needs_relink = False

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status  # Xero's HTTP status, when it answered (0: the connection failed)


class Paused(XeroError):
    """Calls to the organisation are held until `until` (Xero's daily limit is used up): nothing is wrong
    with what waits, and it passes by itself."""

    def __init__(self, until: datetime.datetime, reason: str):
        super().__init__(reason)
        self.until, self.reason = until, reason


class XeroNeedsRelink(XeroError):
    """Xero no longer accepts the link (refresh token refused, the app disconnected in Xero, or a
    permission the link lacks): refreshing will not fix it; a person must link again."""

    needs_relink = True

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message, permanent=True, status=status)


class XeroNotFound(XeroError):
    """HTTP 404. Xero's edge answers requests it finds too long with a 404 too, so this is a failed
    read, to try again, never proof that a record does not exist."""

    def __init__(self):
        super().__init__(
            "Xero answered 404 (not found) to a request it should know; it will be tried again.", status=404
        )


class XeroRateLimited(XeroError):
    """HTTP 429: nothing was written; try again after `retry_after` seconds."""

    def __init__(self, *, retry_after: int, problem: str):
        super().__init__(f"Xero's {problem or 'rate'} limit was reached; trying again in {retry_after} s.", status=429)
        self.retry_after = retry_after
        self.problem = problem


class XeroRejected(XeroError):
    """HTTP 400: Xero refused the content. `details` is Xero's answer (validation errors per element)."""

    def __init__(self, message: str, *, details=None):
        super().__init__(message, permanent=True, status=400)
        self.details = details
