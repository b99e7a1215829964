"""Chaos at benchmark size: 1,000 payouts while Celery workers are SIGKILLed and the
local NEAR RPC injects every fault it knows; prints what happened and how long it took.

It runs the chaos test (tests/faults/test_payout_chaos.py) with a larger count, on
PostgreSQL and Redis, and asserts what that test asserts: exactly-once payment, nothing
stuck, chain = ledger. The printed figures are the point here.

    .venv/bin/python benchmarks/chaos.py [--payouts 1000] [--seconds 120] [--seed 413]
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payouts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=120.0, help="chaos phase length")
    parser.add_argument("--seed", type=int, default=413)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/nearlabel_bench_chaos"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "TEST_REDIS_URL": args.redis_url,
        "NEARLABEL_REQUIRE_SERVICES": "1",
        "CHAOS_PAYOUTS": str(args.payouts),
        "CHAOS_SECONDS": str(args.seconds),
        "CHAOS_SEED": str(args.seed),
        "NEARLABEL_VAR_DIR": str(ROOT / "var" / "bench-chaos"),
    }
    started = time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/faults/test_payout_chaos.py",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "-o",
            "timeout=3000",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    figures = re.findall(r"^chaos: .*$", run.stdout, flags=re.MULTILINE)
    outcome = "passed" if run.returncode == 0 else f"FAILED (exit {run.returncode})"
    print(
        f"chaos benchmark: {args.payouts} payouts, seed {args.seed}: {outcome} in {elapsed:.0f} s"
    )
    for line in figures:
        print("  " + line)
    if run.returncode != 0:
        print(run.stdout[-4000:])
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
