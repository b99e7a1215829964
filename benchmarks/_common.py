"""Helpers shared by the benchmark scripts: environment, database, processes, figures.

Nothing here asserts anything: the benchmarks measure and print.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/nearlabel_bench"
BENCH_SECRET_KEY = "benchmark-only-not-a-secret-0123456789abcdef0123456789abcdef"  # noqa: S105


def log(message: str) -> None:
    """Progress lines go to stderr, so stdout holds only the figures."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- environment ----------------------------------------------------------------------------


# Set by each benchmark itself, never inherited from the shell.
_NEAR_ENV = (
    "REDIS_URL",
    "NEAR_RPC_URL",
    "NEAR_ACCOUNT_ID",
    "NEAR_PRIVATE_KEY_FILE",
    "NEAR_KEYS_DIR",
)


def bench_env(*, database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The production-like environment every process of a benchmark runs with."""
    env = {k: v for k, v in os.environ.items() if k not in _NEAR_ENV}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        # Plain HTTP on 127.0.0.1: debug off would otherwise redirect to HTTPS.
        SECURE_SSL_REDIRECT="0",
        SECRET_KEY=BENCH_SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # Required with DJANGO_DEBUG=0 ("Sign in with NEAR" recipient); unused here.
        NEAR_AUTH_RECIPIENT=os.environ.get("NEAR_AUTH_RECIPIENT", "127.0.0.1"),
        DATABASE_URL=database_url,
        NEARLABEL_VAR_DIR=str(var_dir),
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def django_setup(env: dict[str, str]) -> None:
    """Configure Django in this process with the benchmark's environment."""
    os.environ.update(env)
    for name in _NEAR_ENV:
        if name not in env:
            os.environ.pop(name, None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- database -------------------------------------------------------------------------------


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def database_recreate(database_url: str) -> None:
    """Drop and create the benchmark database. Refuses a name without "bench" in it."""
    import psycopg
    from psycopg import sql

    name = database_name(database_url)
    if "bench" not in name:
        raise SystemExit(f"refusing to drop database {name!r}: its name must contain 'bench'")
    parts = urlsplit(database_url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(args: Sequence[str], env: dict[str, str]) -> None:
    """Run `manage.py <args>` as a subprocess with the benchmark's environment."""
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    """A subprocess this benchmark started, in its own process group."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group we created, by its id
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(name: str, cmd: Sequence[str], *, env: dict[str, str], log_path: Path) -> Child:
    handle: IO[bytes] = log_path.open("wb")
    proc = subprocess.Popen(
        list(cmd),
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group: stop() reaches workers it forked
    )
    handle.close()
    return Child(name=name, proc=proc, log_path=log_path)


@contextlib.contextmanager
def children() -> Iterator[list[Child]]:
    """Stop every child registered in the list on exit, whatever happens."""
    started: list[Child] = []
    try:
        yield started
    finally:
        for child in reversed(started):
            child.stop()


def wait_until(check: Any, *, timeout: float, what: str, child: Child | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and child.proc.poll() is not None:
            raise SystemExit(f"{child.name} exited early:\n{child.log_tail()}")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


# --- CPU accounting -------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_cpu_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _proc_comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def postgres_pids() -> list[int]:
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _proc_comm(int(p.name)) == "postgres"
    ]


@dataclass
class CpuSample:
    """CPU seconds used so far by this process, a child's tree, and the PostgreSQL server."""

    wall: float
    self_s: float
    tree_s: float
    postgres_s: float


def cpu_sample(tree_root: int | None = None) -> CpuSample:
    tree = sum(_proc_cpu_ticks(p) for p in _descendants(tree_root)) if tree_root else 0
    pg = sum(_proc_cpu_ticks(p) for p in postgres_pids())
    return CpuSample(
        wall=time.monotonic(),
        self_s=time.process_time(),
        tree_s=tree / CLOCK_TICKS,
        postgres_s=pg / CLOCK_TICKS,
    )


def cpu_share(start: CpuSample, end: CpuSample) -> tuple[int, int, int]:
    """Percent of one core used by (this process, the child tree, PostgreSQL) in between."""
    wall = max(end.wall - start.wall, 1e-9)

    def pct(a: float, b: float) -> int:
        return round(100 * (b - a) / wall)

    return (
        pct(start.self_s, end.self_s),
        pct(start.tree_s, end.tree_s),
        pct(start.postgres_s, end.postgres_s),
    )


# --- figures --------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of the values (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * pct // 100)))
    return ordered[int(rank) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
