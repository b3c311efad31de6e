"""The storm's timeline: faults the sandbox injects into API calls, and faults from outside — workers
SIGKILLed mid-batch, Redis restarted, the webhook receiver down, the refresh token revoked (then the
platform re-linked over HTTP as a person would). Each event is logged with when it happened.
"""

import random
import threading
import time
from dataclasses import dataclass, field

from django.db import connections
from django.utils import timezone

from bench import oauth_flow, workload
from bench.processes import BenchError
from integrations.xero.models import SyncRecord, XeroConnection
from xero_sandbox.models import Fault, RefreshToken, RequestLog

# Sandbox faults, each hitting a share of the calls until it has hit `faults_each` of them: (kind, the HTTP
# method it hits or "" for any, share of matching calls). Set by share rather than by time, so that the
# faults keep pace with the calls made: a fault every few seconds would hit every call of a slowed sync.
SANDBOX_FAULTS = (
    (Fault.Kind.ERROR_BEFORE_COMMIT, "", 0.03),
    (Fault.Kind.ERROR_AFTER_COMMIT, "PUT", 0.12),  # creates of documents, contacts and allocations: the write lands
    (Fault.Kind.SLOW, "", 0.03),
    (Fault.Kind.DROP, "", 0.03),
    (Fault.Kind.HTML_400, "", 0.03),  # Xero's edge answering with an HTML page: nothing written, retried
)
# Not injected: AUTH_401 (a missing permission) asks a person to re-link, which the timeline does once, for
# a revoked refresh token.
INJECTED_KINDS = [kind for kind, _, _ in SANDBOX_FAULTS] + [Fault.Kind.RATE_LIMIT]
BURST_OF_429 = 3  # calls answered 429 in a row, each burst
REDIS_DOWN_SECONDS = 5.0
RELINK_AFTER_SECONDS = 3.0  # a person notices the Add Ons page saying "Needs re-link"
UNHIT_CHECKS = (0.2, 0.5, 0.75)  # shares of the storm at which a fault kind that has hit nothing takes the next call
RELINK_TRIES = 10  # the storm goes on meanwhile: a try may meet a burst of 429s, a slow answer or Redis down


@dataclass
class Timeline:
    config: object
    cluster: object
    org: object
    password: str
    rng: random.Random
    log: list = field(default_factory=list)  # (seconds into the storm, what happened)
    errors: list = field(default_factory=list)
    relinks: int = 0

    def plan(self) -> list[tuple[float, str, object]]:
        seconds, events = self.config.storm_seconds, []
        events.append((0.0, "sandbox faults", self.sandbox_faults))
        for share in UNHIT_CHECKS:
            events.append((seconds * share, "sandbox faults that have hit nothing yet", self.unhit_faults_made_certain))
        for i in range(self.config.bursts):
            events.append((seconds * (0.1 + 0.8 * i / max(1, self.config.bursts)), "burst of 429s", self.burst_of_429))
        for _ in range(self.config.kills):
            events.append((seconds * self.rng.uniform(0.1, 0.9), "SIGKILL a worker", self.kill_worker))
        events.append((seconds * 0.25, "webhook receiver down", self.cluster.stop_hooks))
        events.append((seconds * 0.25 + self.config.receiver_down_seconds, "webhook receiver up", self.receiver_up))
        events.append((seconds * 0.4, "refresh token revoked", self.revoke_refresh_token))
        events.append((seconds * 0.6, "Redis restarted", self.restart_redis))
        return sorted(events, key=lambda event: event[0])

    def run(self, stop: threading.Event, tick) -> None:
        """In the main thread (processes started from another thread die with it: PR_SET_PDEATHSIG), calling
        `tick` every second while waiting for the next event."""
        self.started = time.monotonic()
        for at, name, action in self.plan():
            while self.elapsed() < at:
                tick()
                if stop.wait(min(1.0, max(0.0, at - self.elapsed()))):
                    return
            try:
                self.note(f"{name}: {action() or 'done'}")
            except Exception as error:  # noqa: BLE001 — recorded, and fails the run at the end
                self.errors.append(f"{name}: {type(error).__name__}: {error}")
                self.note(f"{name}: FAILED ({error})")

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def note(self, text: str) -> None:
        self.log.append((round(self.elapsed(), 1), text))
        print(f"  [{self.elapsed():6.1f}s] {text}", flush=True)

    # --- the events -------------------------------------------------------------------------------
    def sandbox_faults(self) -> str:
        for kind, method, share in SANDBOX_FAULTS:
            delay = self.config.read_timeout + 3 if kind == Fault.Kind.SLOW else 0.0
            Fault.objects.create(
                organisation=self.org,
                kind=kind,
                method=method or "",
                remaining=self.config.faults_each,
                probability=min(1.0, share * self.config.fault_share),
                delay_seconds=delay,
            )
        return (
            f"each of 500 before commit, 500 after commit (PUT), slow ({self.config.read_timeout + 3:.0f}s), "
            f"dropped connection, the edge's HTML 400 set to hit {self.config.faults_each} calls"
        )

    def unhit_faults_made_certain(self) -> str:
        """A short run makes few calls, and each fault takes a share of them after the faults before it:
        a kind that has hit nothing yet takes the next call, so that every kind is met."""
        hit = set(RequestLog.objects.filter(organisation=self.org).exclude(fault="").values_list("fault", flat=True))
        unhit = Fault.objects.filter(organisation=self.org, remaining__gt=0, kind__in=[k for k, _, _ in SANDBOX_FAULTS])
        unhit = unhit.exclude(kind__in=hit)
        kinds = sorted(unhit.values_list("kind", flat=True))
        unhit.update(probability=1.0, remaining=1)
        return f"{', '.join(kinds)}: each takes one of the next calls" if kinds else "every kind has hit a call"

    def burst_of_429(self) -> str:
        Fault.objects.create(organisation=self.org, kind=Fault.Kind.RATE_LIMIT, remaining=BURST_OF_429)
        return f"the next {BURST_OF_429} calls answered 429"

    def kill_worker(self) -> str:
        busy = self._wait_for_a_batch(10.0)
        index = self.rng.choice(sorted(self.cluster.workers))
        self.cluster.kill_worker(index)
        return f"worker {index} killed {'mid-batch' if busy else '(no batch in flight)'} and started again"

    def receiver_up(self) -> str:
        self.cluster.start_hooks()
        return f"after {self.config.receiver_down_seconds:.0f}s of refused connections (the sandbox retries meanwhile)"

    def revoke_refresh_token(self) -> str:
        revoked = RefreshToken.objects.filter(
            grant__app__client_id=self.config.secrets["XERO_CLIENT_ID"], expires_at__gt=timezone.now()
        ).update(expires_at=timezone.now())
        threading.Thread(target=self._relink_when_asked, daemon=True).start()
        return f"{revoked} refresh token(s) no longer accepted; re-link once the platform asks for it"

    def restart_redis(self) -> str:
        self.cluster.restart_redis(REDIS_DOWN_SECONDS)
        return f"stopped (its queue and cache lost) and started again after {REDIS_DOWN_SECONDS:.0f}s"

    # --- helpers ------------------------------------------------------------------------------------
    def _wait_for_a_batch(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if SyncRecord.objects.filter(state=SyncRecord.State.SENDING).exists():
                return True
            time.sleep(0.1)
        return False

    def _relink(self) -> None:
        """As a person would: press LINK TO MY ACCOUNT again until the Add Ons page says linked (a fault
        injected into the callback's reads makes a try fail with a message, as Xero's errors would)."""
        for attempt in range(1, RELINK_TRIES + 1):
            time.sleep(RELINK_AFTER_SECONDS)
            try:
                oauth_flow.link_over_http(
                    base_url=self.config.base_url,
                    username=workload.USERNAME,
                    password=self.password,
                    tenant_id=str(self.org.tenant_id),
                )
            except BenchError as error:  # a page answered 500 (Redis restarting, say): a person tries again
                self.note(f"re-link try {attempt} failed on the way ({str(error).splitlines()[0]}); trying again")
                continue
            connection = XeroConnection.objects.current()
            if connection.status == XeroConnection.Status.ACTIVE:
                self.relinks += 1
                self.note(f"re-linked over HTTP (sign in, LINK TO MY ACCOUNT, consent, callback), try {attempt}")
                return
            self.note(f"re-link try {attempt} did not link ({connection.last_error}); trying again")
        self.errors.append(f"re-link failed {RELINK_TRIES} times")

    def _relink_when_asked(self) -> None:
        try:
            deadline = time.monotonic() + self.config.token_seconds + 120
            while time.monotonic() < deadline:
                connection = XeroConnection.objects.current()
                if connection and connection.status == XeroConnection.Status.NEEDS_RELINK:
                    self.note(f"platform says: needs re-link ({connection.last_error})")
                    self._relink()
                    return
                time.sleep(0.5)
            self.errors.append("the platform never asked to be re-linked after its refresh token was revoked")
        except Exception as error:  # noqa: BLE001
            self.errors.append(f"re-link: {type(error).__name__}: {error}")
        finally:
            connections.close_all()


def clear_sandbox_faults(org) -> int:
    return Fault.objects.filter(organisation=org).delete()[0]


def keep_only_unhit_faults(org) -> list[str]:
    """At the end of the storm: the faults of kinds that have hit go; a kind that has hit nothing (a stretch
    without calls, such as a link waiting to be renewed, can swallow a short storm's chances) takes one of
    the first calls of the settling instead, so every kind is still met once."""
    hit = set(RequestLog.objects.filter(organisation=org).exclude(fault="").values_list("fault", flat=True))
    faults = Fault.objects.filter(organisation=org)
    faults.filter(kind__in=hit).delete()
    unhit = faults.filter(kind__in=INJECTED_KINDS).exclude(kind__in=hit)
    unhit.update(probability=1.0, remaining=1)
    faults.exclude(kind__in=INJECTED_KINDS).delete()
    return sorted(set(unhit.values_list("kind", flat=True)))
