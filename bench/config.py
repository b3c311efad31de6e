"""What a run measures and with which settings: command-line options over BENCH_* variables over defaults.

Nothing here imports Django: the environment for the web server, the workers and the bench's own
Django process is built from these values before any of them starts.
"""

import argparse
import os
import secrets
import socket
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Sandbox limits for the unpaced phase: far above anything a run reaches.
LIMITS_OFF = {
    "MINUTE_LIMIT": 10_000_000,
    "DAY_LIMIT": 100_000_000,
    "CONCURRENT_LIMIT": 10_000,
    "APP_MINUTE_LIMIT": 10_000_000,
}
# The paced phase runs with Xero's real limits on a real minute.
LIMITS_ON = {
    "MINUTE_LIMIT": 60,
    "DAY_LIMIT": 5000,
    "CONCURRENT_LIMIT": 5,
    "APP_MINUTE_LIMIT": 10_000,
    "MINUTE_SECONDS": 60,
}

FULL = {
    "invoices": 3000,
    "accounts": 300,
    "issues": 200,
    "fast_timeout": 300.0,
    "paced_timeout": 300.0,
    "receiver_invoices": 1000,
    "receiver_posts": 3000,
    "receiver_timeout": 300.0,
    "code_lengths": "10,20,50",
}
QUICK = {
    "invoices": 400,
    "accounts": 40,
    "issues": 40,
    "fast_timeout": 60.0,
    "paced_timeout": 45.0,
    "receiver_invoices": 200,
    "receiver_posts": 600,
    "receiver_timeout": 120.0,
    "code_lengths": "50",
}
PHASES = ("receiver",)  # phases `--only` can pick


@dataclass
class BenchConfig:
    quick: bool = False
    invoices: int = 3000  # per sync phase (N)
    accounts: int = 300  # new billing accounts per sync phase (A)
    known_share: float = 0.2  # share of those accounts whose contact is already in Xero
    lines_per_invoice: int = 2
    order: str = "random"  # which account each invoice goes to: random, or round-robin (best case)
    seed: int = 2024
    issue_threads: int = 4  # threads issuing a phase's invoices
    issues: int = 200  # issues timed with the add-on on, and as many with it off
    workers: int = 2  # Celery worker processes
    concurrency: int = 2  # pool processes per worker
    web_workers: int = 2  # gunicorn
    web_threads: int = 8
    fast_timeout: float = 300.0  # seconds the unpaced phase may take to send everything
    paced_timeout: float = 300.0  # the same for the paced phase
    skip_paced: bool = False
    analyze_every: float = 15.0  # seconds between ANALYZEs while the sync runs, if autovacuum is off; 0: never
    only: str = ""  # one phase alone (receiver), or "" for the whole run
    receiver_invoices: int = 1000  # sent and paid invoices the webhook events name
    receiver_posts: int = 3000  # POSTs of 1-event payloads (a fifth as many 50-event ones)
    receiver_senders: int = 20  # concurrent senders
    receiver_rate: float = 100.0  # 1-event POSTs a second, all senders together (50-event ones: a fifth)
    receiver_timeout: float = 300.0  # seconds allowed for the events to be processed
    code_lengths: str = "10,20,50"  # billing account code lengths, one unpaced sync phase each; "" skips them
    database_url: str = "postgres://postgres@127.0.0.1:5432/bench"
    redis_url: str = "redis://127.0.0.1:6379/7"
    port: int = 0  # 0: a free port
    results: str = ""  # results file name in bench/results/ (default: latest, or quick)
    run_dir: str = ""
    secrets: dict = field(default_factory=dict, repr=False)

    def public(self) -> dict:
        """The settings for the results file (no secrets, no scratch paths)."""
        values = asdict(self)
        for private in ("secrets", "run_dir"):
            values.pop(private)
        return values

    @property
    def code_length_list(self) -> list[int]:
        return [int(part) for part in self.code_lengths.split(",") if part.strip()]

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/xero-sandbox"

    @property
    def results_name(self) -> str:
        if self.results:
            return self.results
        name = "quick" if self.quick else "latest"
        return f"{self.only}-{name}" if self.only else name


def load(argv: list[str] | None = None) -> BenchConfig:
    args = _parser().parse_args(argv)
    quick = args.quick or _env_bool("BENCH_QUICK")
    sizes = QUICK if quick else FULL
    config = BenchConfig(
        quick=quick,
        invoices=pick(args.invoices, "BENCH_INVOICES", sizes["invoices"], int),
        accounts=pick(args.accounts, "BENCH_ACCOUNTS", sizes["accounts"], int),
        known_share=pick(args.known_share, "BENCH_KNOWN_SHARE", 0.2, float),
        lines_per_invoice=pick(args.lines, "BENCH_LINES", 2, int),
        order=pick(args.order, "BENCH_ORDER", "random", str),
        seed=pick(args.seed, "BENCH_SEED", 2024, int),
        issues=pick(args.issues, "BENCH_ISSUES", sizes["issues"], int),
        issue_threads=pick(args.issue_threads, "BENCH_ISSUE_THREADS", 4, int),
        workers=pick(args.workers, "BENCH_WORKERS", 2, int),
        concurrency=pick(args.concurrency, "BENCH_CONCURRENCY", 2, int),
        web_workers=pick(None, "BENCH_WEB_WORKERS", 2, int),
        web_threads=pick(None, "BENCH_WEB_THREADS", 8, int),
        fast_timeout=pick(args.fast_timeout, "BENCH_FAST_TIMEOUT", sizes["fast_timeout"], float),
        paced_timeout=pick(args.paced_timeout, "BENCH_PACED_TIMEOUT", sizes["paced_timeout"], float),
        skip_paced=args.skip_paced or _env_bool("BENCH_SKIP_PACED"),
        analyze_every=pick(args.analyze_every, "BENCH_ANALYZE_EVERY", 15.0, float),
        database_url=os.environ.get("DATABASE_URL") or BenchConfig.database_url,
        redis_url=os.environ.get("REDIS_URL") or BenchConfig.redis_url,
        port=pick(args.port, "BENCH_PORT", 0, int),
        results=pick(args.results, "BENCH_RESULTS", "", str),
        only=pick(args.only, "BENCH_ONLY", "", str),
        receiver_invoices=pick(args.receiver_invoices, "BENCH_RECEIVER_INVOICES", sizes["receiver_invoices"], int),
        receiver_posts=pick(args.receiver_posts, "BENCH_RECEIVER_POSTS", sizes["receiver_posts"], int),
        receiver_senders=pick(args.receiver_senders, "BENCH_RECEIVER_SENDERS", 20, int),
        receiver_rate=pick(args.receiver_rate, "BENCH_RECEIVER_RATE", 100.0, float),
        receiver_timeout=pick(None, "BENCH_RECEIVER_TIMEOUT", sizes["receiver_timeout"], float),
        code_lengths=pick(args.code_lengths, "BENCH_CODE_LENGTHS", sizes["code_lengths"], str),
    )
    _check(config)
    config.port = config.port or free_port()
    config.run_dir = tempfile.mkdtemp(prefix="cocoonops-bench-")
    config.secrets = run_secrets()
    return config


def load_on_own_stores(argv: list[str], *, database: str, redis: str, results: str) -> BenchConfig:
    """The shared settings for a bench run on its own database and Redis number (DATABASE_URL and REDIS_URL win),
    writing bench/results/<results>.*."""
    config = load(argv)
    config.database_url = os.environ.get("DATABASE_URL") or database
    config.redis_url = os.environ.get("REDIS_URL") or redis
    config.results = results
    return config


def run_secrets() -> dict:
    """Throw-away secrets for one run's processes."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "XERO_CLIENT_ID": secrets.token_hex(16).upper(),
        "XERO_CLIENT_SECRET": secrets.token_urlsafe(36),
        "XERO_TOKEN_KEYS": Fernet.generate_key().decode(),
        "XERO_WEBHOOK_KEY": secrets.token_urlsafe(32),
        "METRICS_TOKEN": secrets.token_urlsafe(24),
    }


def base_env(config: BenchConfig) -> dict:
    """The environment every process of the run shares (the dev .env is deliberately not read)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("XERO_")}
    env.update(config.secrets)
    env.update(
        {
            "READ_ENV_FILE": "false",
            "DJANGO_SETTINGS_MODULE": "cocoonops_xero.settings",
            "DEBUG": "false",  # DEBUG would keep every query in memory and slow everything down
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_COOKIES": "false",  # the OAuth flow is driven over plain HTTP
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": config.database_url,
            "REDIS_URL": config.redis_url,
            "VAR_DIR": str(Path(config.run_dir) / "var"),
            "XERO_ENABLED": "true",
            "XERO_SANDBOX_ENABLED": "true",
            "XERO_SANDBOX_WITHOUT_DEBUG": "true",  # the benchmark's gunicorn runs with DEBUG off, as production
            "XERO_LOGIN_URL": config.sandbox_url,
            "XERO_IDENTITY_URL": config.sandbox_url,
            "XERO_API_URL": config.sandbox_url,
            "XERO_WEB_URL": f"{config.sandbox_url}/go",
            "XERO_SANDBOX_PUBLIC_API_URL": f"{config.sandbox_url}/api.xro/2.0",
            "XERO_REDIRECT_URI": f"http://127.0.0.1:{config.port}/integrations/xero/callback/",
            # No webhook URL: the sandbox records no events and no webhook sender runs (see README); the
            # receiver phase signs its own payloads with the key.
            "XERO_WEBHOOK_URL": "",
            "XERO_WEBHOOK_KEY": config.secrets["XERO_WEBHOOK_KEY"],
            # These benches measure sending; attaching PDFs (rendered, then one call each) is measured apart.
            "XERO_ATTACH_PDFS": "false",
            # The chart of accounts and tax rates read at link time stay fresh for the whole run: a re-read (four
            # calls an organisation, ten minutes after linking by default) would land in whichever phase is running.
            "XERO_REFERENCE_DATA_SECONDS": "86400",
        }
    )
    return env


def sandbox_env(limits: dict) -> dict:
    return {f"XERO_SANDBOX_{name}": str(value) for name, value in limits.items()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="make bench", description="Measure the Xero sync against the sandbox.")
    parser.add_argument("--quick", action="store_true", help="a short run (under 2 minutes), written to quick.*")
    parser.add_argument("--invoices", type=int, help="invoices per sync phase (N)")
    parser.add_argument("--accounts", type=int, help="new billing accounts per sync phase (A)")
    parser.add_argument("--known-share", type=float, help="share of accounts already in Xero (0..1)")
    parser.add_argument("--lines", type=int, help="lines per invoice")
    parser.add_argument("--order", choices=["random", "round-robin"], help="how invoices are spread over accounts")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--issues", type=int, help="issues timed with the add-on on (and as many off)")
    parser.add_argument("--issue-threads", type=int, help="threads issuing a phase's invoices")
    parser.add_argument("--workers", type=int, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, help="pool processes per worker")
    parser.add_argument("--fast-timeout", type=float, help="seconds allowed for the unpaced phase")
    parser.add_argument("--paced-timeout", type=float, help="seconds allowed for the paced phase")
    parser.add_argument("--skip-paced", action="store_true", help="leave out the paced phase")
    parser.add_argument(
        "--code-lengths", help="billing account code lengths to measure calls with, e.g. 10,20,50 ('' skips)"
    )
    parser.add_argument(
        "--analyze-every", type=float, help="seconds between ANALYZEs during the sync when autovacuum is off (0: never)"
    )
    parser.add_argument("--results", help="name of the results files in bench/results/ (default latest, or quick)")
    parser.add_argument("--port", type=int, help="web server port (default: a free one)")
    parser.add_argument(
        "--only", choices=PHASES, help="run one phase alone (results in bench/results/<phase>-latest.*)"
    )
    parser.add_argument("--receiver-invoices", type=int, help="receiver phase: sent invoices the events name")
    parser.add_argument(
        "--receiver-posts", type=int, help="receiver phase: 1-event POSTs (a fifth as many 50-event ones)"
    )
    parser.add_argument("--receiver-senders", type=int, help="receiver phase: concurrent senders")
    parser.add_argument(
        "--receiver-rate",
        type=float,
        help="receiver phase: 1-event POSTs a second, all senders together (50-event ones: a fifth)",
    )
    return parser


def pick(given, env_name: str, default, kind):
    if given is not None:
        return given
    raw = os.environ.get(env_name, "")
    return kind(raw) if raw != "" else default


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def _check(config: BenchConfig) -> None:
    problems = []
    if config.invoices < 1 or config.accounts < 1 or config.accounts > config.invoices:
        problems.append("need 1 <= accounts <= invoices")
    if not 0 <= config.known_share <= 1:
        problems.append("known share must be between 0 and 1")
    if config.results and not config.results.replace("-", "").replace("_", "").isalnum():
        problems.append("results name: letters, digits, - and _ only")
    if (
        config.receiver_senders < 1
        or config.receiver_posts // 5 <= config.receiver_senders
        or config.receiver_invoices < 50
    ):
        problems.append("receiver phase: need senders >= 1, posts > 5 × senders and at least 50 invoices")
    if config.only and config.only not in PHASES:
        problems.append(f"--only: one of {', '.join(PHASES)}")
    if config.order not in ("random", "round-robin"):
        problems.append("order must be random or round-robin")
    if not config.database_url.startswith(("postgres://", "postgresql://")):
        problems.append(f"DATABASE_URL must be PostgreSQL (got {config.database_url.split(':')[0]})")
    if not config.redis_url.startswith("redis://"):
        problems.append("REDIS_URL must be redis://")
    if problems:
        raise SystemExit("bench: " + "; ".join(problems))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
