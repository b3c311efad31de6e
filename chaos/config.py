"""What a chaos run does and with which settings: command-line options over CHAOS_* variables over defaults.

The object has the attributes bench's helpers read (port, run_dir, secrets, web_workers, ...), so the
web server, workers and environment are started exactly as the benchmark starts them.
"""

import argparse
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.config import free_port, pick, run_secrets  # the benchmark's option reading, port picking, secrets

RESULTS_DIR = Path(__file__).resolve().parent / "results"

FULL = {
    "documents": 5000,
    "accounts": 300,
    "storm_seconds": 420.0,
    "faults_each": 12,
    "fault_share": 1.0,
    "bursts": 4,
    "kills": 5,
    "receiver_down_seconds": 60.0,
    "token_seconds": 180,
    "quiet_timeout": 900.0,
}
QUICK = {
    "documents": 300,
    "accounts": 40,
    "storm_seconds": 100.0,
    "faults_each": 3,
    "fault_share": 3.0,
    "bursts": 2,
    "kills": 2,
    "receiver_down_seconds": 15.0,
    "token_seconds": 60,
    "quiet_timeout": 360.0,
}


@dataclass
class ChaosConfig:
    quick: bool = False
    documents: int = 5000  # invoices and credit notes issued
    accounts: int = 300  # billing accounts, none yet sent to Xero
    known_share: float = 0.2  # share of the accounts already a customer in Xero (the rest are new to Xero)
    credit_note_share: float = 0.1  # share of the documents that are credit notes (of invoices issued before)
    storm_seconds: float = 420.0  # how long documents are issued and faults injected
    faults_each: int = 12  # injected by the sandbox: calls hit by each kind (500 before/after commit, slow, drop)
    fault_share: float = 1.0  # times the shares of calls the sandbox faults hit (a short run makes fewer calls)
    bursts: int = 4  # bursts of 429s
    kills: int = 5  # workers SIGKILLed mid-batch (each restarted)
    receiver_down_seconds: float = 60.0  # the webhook receiver refuses connections this long
    token_seconds: int = 180  # access token lifetime: workers race to refresh it every few minutes
    xero_share: float = 0.3  # share of the invoices paid, part-paid, voided or un-paid in Xero meanwhile
    code_length: int = 40  # billing account codes this long: contact look-ups split by Xero's limit on a request
    outside_share: float = 0.1  # supplier bills and credit notes in Xero numbered as the platform's documents will be
    quiet_timeout: float = 900.0  # seconds allowed after the storm for everything to settle
    read_timeout: float = 10.0  # the client's read timeout: above what a loaded 2-core machine takes for 50 documents
    seed: int = 2024
    workers: int = 2  # Celery worker processes
    concurrency: int = 2  # pool processes per worker
    web_workers: int = 2
    web_threads: int = 8
    database_url: str = "postgres://postgres@127.0.0.1:5432/chaos_run"
    redis_port: int = 6390  # the run's own redis-server (never the shared one on 6379)
    port: int = 0  # the platform and the sandbox; 0: a free port
    hooks_port: int = 0  # a second web server for the webhook receiver alone (stopped while "down")
    drop_database: bool = False  # drop the database at the end (the test does; make chaos keeps it to look at)
    results: str = ""
    results_dir: str = str(RESULTS_DIR)
    run_dir: str = ""
    secrets: dict = field(default_factory=dict, repr=False)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/xero-sandbox"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.hooks_port}/integrations/xero/webhooks/"

    @property
    def results_name(self) -> str:
        return self.results or ("quick" if self.quick else "latest")

    def public(self) -> dict:
        values = asdict(self)
        for private in ("secrets", "run_dir"):
            values.pop(private)
        return values


def load(argv: list[str] | None = None) -> ChaosConfig:
    args = _parser().parse_args(argv)
    quick = args.quick or os.environ.get("CHAOS_QUICK", "").lower() in ("1", "true", "yes")
    sizes = QUICK if quick else FULL
    config = ChaosConfig(
        quick=quick,
        documents=pick(args.documents, "CHAOS_DOCUMENTS", sizes["documents"], int),
        accounts=pick(args.accounts, "CHAOS_ACCOUNTS", sizes["accounts"], int),
        storm_seconds=pick(args.storm_seconds, "CHAOS_STORM_SECONDS", sizes["storm_seconds"], float),
        faults_each=pick(args.faults_each, "CHAOS_FAULTS_EACH", sizes["faults_each"], int),
        fault_share=sizes["fault_share"],
        bursts=sizes["bursts"],
        kills=pick(args.kills, "CHAOS_KILLS", sizes["kills"], int),
        receiver_down_seconds=sizes["receiver_down_seconds"],
        token_seconds=pick(args.token_seconds, "CHAOS_TOKEN_SECONDS", sizes["token_seconds"], int),
        quiet_timeout=pick(args.quiet_timeout, "CHAOS_QUIET_TIMEOUT", sizes["quiet_timeout"], float),
        seed=pick(args.seed, "CHAOS_SEED", 2024, int),
        database_url=os.environ.get("CHAOS_DATABASE_URL") or ChaosConfig.database_url,
        redis_port=pick(args.redis_port, "CHAOS_REDIS_PORT", 6390, int),
        port=pick(args.port, "CHAOS_PORT", 0, int),
        drop_database=args.drop_database,
        results=pick(args.results, "CHAOS_RESULTS", "", str),
        results_dir=args.results_dir or str(RESULTS_DIR),
    )
    _check(config)
    config.port = config.port or free_port()
    config.hooks_port = free_port()
    config.run_dir = tempfile.mkdtemp(prefix="cocoonops-chaos-")
    config.secrets = run_secrets()
    return config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="make chaos", description="The Xero sync under injected faults and load.")
    parser.add_argument(
        "--quick", action="store_true", help="a short run (a few hundred documents), written to quick.md"
    )
    parser.add_argument("--documents", type=int, help="invoices and credit notes issued")
    parser.add_argument("--accounts", type=int, help="billing accounts")
    parser.add_argument("--storm-seconds", type=float, help="how long documents are issued and faults injected")
    parser.add_argument("--faults-each", type=int, help="calls hit by each kind of sandbox fault")
    parser.add_argument("--kills", type=int, help="workers SIGKILLed mid-batch")
    parser.add_argument("--token-seconds", type=int, help="access token lifetime in the sandbox")
    parser.add_argument("--quiet-timeout", type=float, help="seconds allowed to settle after the storm")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--redis-port", type=int, help="port of the run's own redis-server (default 6390)")
    parser.add_argument("--port", type=int, help="web server port (default: a free one)")
    parser.add_argument("--drop-database", action="store_true", help="drop the run's database at the end")
    parser.add_argument("--results", help="results file name in chaos/results/ (default latest, or quick)")
    parser.add_argument("--results-dir", help="write the results file there instead of chaos/results/")
    return parser


def _check(config: ChaosConfig) -> None:
    problems = []
    if config.accounts < 1 or config.documents < 2 * config.accounts:
        problems.append("need at least 2 documents per account")
    if config.redis_port == 6379:
        problems.append("the run restarts its Redis: give it its own port, not the shared 6379")
    if "chaos" not in config.database_url.rsplit("/", 1)[-1]:
        problems.append("the database is dropped and recreated: its name must contain 'chaos'")
    if config.results and not config.results.replace("-", "").replace("_", "").isalnum():
        problems.append("results name: letters, digits, - and _ only")
    if problems:
        raise SystemExit("chaos: " + "; ".join(problems))
