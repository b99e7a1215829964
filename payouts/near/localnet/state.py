"""The chain's state: accounts and their keys, applied transactions, blocks, and persistence.

Nothing here knows JSON-RPC or validation; callers hold the node's lock around every use.

Blocks: every change (a transaction, a faucet grant, a key, a fast-forward, an empty block
the node produces while a call waits) produces a new head. Block hashes are
``base58(sha256(chain seed || height))``, so a height's hash never changes and only the
recent window (``transaction_validity_period`` blocks) is indexed by hash.

Persistence: a JSON snapshot, written atomically (temp file + fsync + ``os.replace``), plus an
append-only journal with one fsynced JSON line per change, folded into the snapshot every
``compact_every`` changes and at start and close. A restart replays the journal; a torn last
line (a crash mid-append, never acknowledged) is dropped. A lock file keeps a second process
off the same state.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import tempfile
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypedDict

import base58

log = logging.getLogger(__name__)

CHAIN_ID = "nearlabel-localnet"
STATE_FORMAT = 1
DEFAULT_VALIDITY_PERIOD = 86_400  # blocks (mainnet's transaction_validity_period)
COMPACT_EVERY = 1000  # journal lines before they are folded into the snapshot
BLOCK_TIMESTAMPS_KEPT = 1000  # older blocks are answered as UNKNOWN_BLOCK ("garbage collected")


class LocalNetStateError(RuntimeError):
    """The state file is corrupt, of an unknown format, or used by another localnet."""


class AccessKey(TypedDict):
    """An access key as ``view_access_key`` shows it."""

    nonce: int
    permission: Any  # "FullAccess" or {"FunctionCall": {"allowance", "receiver_id", ...}}


class AccountJson(TypedDict):
    amount: str  # yoctoNEAR, decimal
    storage_usage: int
    keys: dict[str, AccessKey]


@dataclass
class Account:
    amount: int  # yoctoNEAR
    storage_usage: int  # bytes
    keys: dict[str, AccessKey] = field(default_factory=dict)  # by public key

    def to_json(self) -> AccountJson:
        return {
            "amount": str(self.amount),
            "storage_usage": self.storage_usage,
            "keys": {
                pk: AccessKey(nonce=k["nonce"], permission=k["permission"])
                for pk, k in self.keys.items()
            },
        }

    @classmethod
    def from_json(cls, data: AccountJson) -> Account:
        return cls(
            amount=int(data["amount"]),
            storage_usage=int(data["storage_usage"]),
            keys={
                pk: AccessKey(nonce=int(k["nonce"]), permission=k["permission"])
                for pk, k in data["keys"].items()
            },
        )


class TxRecord(TypedDict):
    """An applied transaction: where it landed and the outcome views nearcore would answer."""

    hash: str
    signer_id: str
    height: int  # the block that included it and executed its receipts
    result: dict[str, Any]  # FinalExecutionOutcomeView, without final_execution_status
    receipts: list[dict[str, Any]]  # ReceiptView list (EXPERIMENTAL_tx_status)


class JournalEntry(TypedDict):
    seq: int
    head: list[int]  # [height, timestamp in ns]
    accounts: dict[str, AccountJson]  # every account the change touched, as it is after it
    tx: TxRecord | None
    totals: list[str]  # [minted, burnt], yoctoNEAR


def _b58(raw: bytes) -> str:
    return base58.b58encode(raw).decode("ascii")


class ChainState:
    """Accounts, transactions and blocks of one chain, kept in a state file.

    Not thread-safe by itself: the node serialises every call under its lock.
    """

    def __init__(
        self,
        *,
        state_path: str | os.PathLike[str],
        transaction_validity_period: int = DEFAULT_VALIDITY_PERIOD,
        fsync: bool = True,
        compact_every: int = COMPACT_EVERY,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if transaction_validity_period < 1:
            raise ValueError("transaction_validity_period must be at least 1 block")
        self.state_path = Path(state_path)
        self.journal_path = self.state_path.with_name(self.state_path.name + ".journal")
        self.validity_period = transaction_validity_period
        self._fsync = fsync
        self._compact_every = max(1, compact_every)
        self._clock = clock
        self.closed = False
        self.chain_id = CHAIN_ID
        self.seed = b""
        self.genesis_height = 1
        self.genesis_timestamp = 0
        self.head_height = 1
        self.head_timestamp = 0  # ns since the epoch
        self.minted = 0  # faucet total, yoctoNEAR
        self.burnt = 0  # gas burnt, yoctoNEAR: balances sum to minted - burnt
        self.accounts: dict[str, Account] = {}
        self.txs: dict[str, TxRecord] = {}  # by tx hash, in applied order
        self._block_ts: OrderedDict[int, int] = OrderedDict()  # height -> timestamp (ns)
        self._window: deque[tuple[int, str]] = deque()  # (height, hash) of recent blocks
        self._hash_heights: dict[str, int] = {}
        self._seq = 0  # number of the last applied change
        self._journal_lines = 0
        self._journal: IO[str] | None = None
        # Called after every committed change (each one a new head), under the node's lock.
        self.on_change: Callable[[], None] | None = None
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = self._lock_acquire()
        try:
            self._load()
        except BaseException:
            self._lock_file.close()
            raise

    # --- persistence -------------------------------------------------------------------

    def _lock_acquire(self) -> IO[str]:
        handle = self.state_path.with_name(self.state_path.name + ".lock").open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise LocalNetStateError(
                f"state {self.state_path} is in use by another localnet process"
            ) from None
        return handle

    def _load(self) -> None:
        if self.state_path.exists():
            try:
                snapshot = json.loads(self.state_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise LocalNetStateError(f"state {self.state_path} is unreadable: {exc}") from exc
            if not isinstance(snapshot, dict) or snapshot.get("format") != STATE_FORMAT:
                raise LocalNetStateError(f"state {self.state_path} has an unknown format")
            self._snapshot_restore(snapshot)
            replayed = self._journal_replay()
            log.info(
                "localnet state loaded from %s: height %s, %s accounts, %s txs, %s replayed",
                self.state_path,
                self.head_height,
                len(self.accounts),
                len(self.txs),
                replayed,
            )
        else:
            self.seed = secrets.token_bytes(32)
            now = self._clock()
            self.genesis_timestamp = now
            self.head_timestamp = now
            self._block_ts[1] = now
            log.info("localnet state created at %s (fresh chain)", self.state_path)
        self._window_rebuild()
        # Fold the journal into a fresh snapshot, then append from an empty journal.
        self._snapshot_write()

    def _snapshot_restore(self, snapshot: dict[str, Any]) -> None:
        try:
            self.chain_id = snapshot["chain_id"]
            self.seed = bytes.fromhex(snapshot["seed"])
            self.genesis_height = int(snapshot["genesis_height"])
            self.genesis_timestamp = int(snapshot["genesis_timestamp"])
            self.head_height = int(snapshot["head"]["height"])
            self.head_timestamp = int(snapshot["head"]["timestamp"])
            self._seq = int(snapshot["seq"])
            self.minted = int(snapshot["minted"])
            self.burnt = int(snapshot["burnt"])
            for height, ts in snapshot["block_ts"]:
                self._block_ts[int(height)] = int(ts)
            self.accounts = {
                account_id: Account.from_json(data)
                for account_id, data in snapshot["accounts"].items()
            }
            for record in snapshot["txs"]:
                self.txs[record["hash"]] = record
        except (KeyError, TypeError, ValueError) as exc:
            raise LocalNetStateError(f"state {self.state_path} is malformed: {exc!r}") from exc

    def _journal_replay(self) -> int:
        if not self.journal_path.exists():
            return 0
        lines = self.journal_path.read_text(encoding="utf-8").splitlines()
        replayed = 0
        for number, line in enumerate(lines, start=1):
            try:
                entry: JournalEntry = json.loads(line)
            except ValueError:
                if number == len(lines):
                    # A crash mid-append leaves a torn last line: that change was never
                    # acknowledged, so dropping it is correct.
                    log.warning("localnet journal %s: torn last line dropped", self.journal_path)
                    break
                raise LocalNetStateError(
                    f"journal {self.journal_path} line {number} is corrupt"
                ) from None
            if entry["seq"] <= self._seq:
                continue  # already folded into the snapshot
            if entry["seq"] != self._seq + 1:
                raise LocalNetStateError(
                    f"journal {self.journal_path} skips from change {self._seq} to {entry['seq']}"
                )
            self._entry_apply(entry)
            replayed += 1
        return replayed

    def _entry_apply(self, entry: JournalEntry) -> None:
        self._seq = entry["seq"]
        height, ts = entry["head"]
        self.head_height, self.head_timestamp = int(height), int(ts)
        self._block_ts_add(self.head_height, self.head_timestamp)
        for account_id, data in entry["accounts"].items():
            self.accounts[account_id] = Account.from_json(data)
        record = entry.get("tx")
        if record is not None:
            self.txs[record["hash"]] = record
        self.minted, self.burnt = int(entry["totals"][0]), int(entry["totals"][1])

    def _snapshot(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "note": "nearlabel localnet state - a local test chain, not NEAR",
            "chain_id": self.chain_id,
            "seed": self.seed.hex(),
            "genesis_height": self.genesis_height,
            "genesis_timestamp": self.genesis_timestamp,
            "head": {"height": self.head_height, "timestamp": self.head_timestamp},
            "seq": self._seq,
            "minted": str(self.minted),
            "burnt": str(self.burnt),
            "block_ts": [[h, ts] for h, ts in self._block_ts.items()],
            "accounts": {a: acc.to_json() for a, acc in self.accounts.items()},
            "txs": list(self.txs.values()),
        }

    def _snapshot_write(self) -> None:
        data = json.dumps(self._snapshot(), separators=(",", ":"))
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{self.state_path.name}.", suffix=".tmp", dir=self.state_path.parent
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self.state_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        # Only now is the journal redundant (its entries have seq <= the snapshot's).
        if self._journal is not None:
            self._journal.close()
        self._journal = self.journal_path.open("w", encoding="utf-8")
        self._journal_lines = 0

    def commit(self, *, accounts: list[str], tx: TxRecord | None) -> None:
        """Persist one applied change (already in memory) before it is acknowledged."""
        if self._journal is None:
            raise LocalNetStateError("the state is closed")
        self._seq += 1
        entry: JournalEntry = {
            "seq": self._seq,
            "head": [self.head_height, self.head_timestamp],
            "accounts": {a: self.accounts[a].to_json() for a in accounts},
            "tx": tx,
            "totals": [str(self.minted), str(self.burnt)],
        }
        self._journal.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._journal.flush()
        if self._fsync:
            os.fsync(self._journal.fileno())
        self._journal_lines += 1
        if self._journal_lines >= self._compact_every:
            self._snapshot_write()
        if self.on_change is not None:
            self.on_change()

    def close(self) -> None:
        """Write a final snapshot and release the state lock. Repeat calls do nothing."""
        if self.closed:
            return
        self.closed = True
        try:
            self._snapshot_write()
        finally:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            self._lock_file.close()
        log.info("localnet state saved to %s at height %s", self.state_path, self.head_height)

    def abandon(self) -> None:
        """Let go of the files without a final snapshot: what a crash leaves (for tests)."""
        self.closed = True
        if self._journal is not None:
            with contextlib.suppress(OSError):
                self._journal.close()
            self._journal = None
        self._lock_file.close()

    # --- blocks ------------------------------------------------------------------------

    def block_hash(self, height: int) -> str:
        return _b58(hashlib.sha256(self.seed + height.to_bytes(8, "little")).digest())

    def _block_ts_add(self, height: int, ts: int) -> None:
        self._block_ts[height] = ts
        while len(self._block_ts) > BLOCK_TIMESTAMPS_KEPT:
            self._block_ts.popitem(last=False)

    def _window_rebuild(self) -> None:
        self._window.clear()
        self._hash_heights.clear()
        start = max(self.genesis_height, self.head_height - self.validity_period)
        for height in range(start, self.head_height + 1):
            block_hash = self.block_hash(height)
            self._window.append((height, block_hash))
            self._hash_heights[block_hash] = height

    def _window_extend(self, old_head: int) -> None:
        start = max(old_head + 1, self.head_height - self.validity_period)
        for height in range(start, self.head_height + 1):
            block_hash = self.block_hash(height)
            self._window.append((height, block_hash))
            self._hash_heights[block_hash] = height
        while self._window and self._window[0][0] < self.head_height - self.validity_period:
            _, block_hash = self._window.popleft()
            del self._hash_heights[block_hash]

    def block_produce(self, *, heights: int = 1, advance_ns: int = 0) -> None:
        """Move the head ``heights`` blocks on (in memory; the caller commits the change)."""
        old_head = self.head_height
        self.head_height += heights
        self.head_timestamp = max(self._clock(), self.head_timestamp + max(1, advance_ns))
        self._block_ts_add(self.head_height, self.head_timestamp)
        self._window_extend(old_head)

    @property
    def head_hash(self) -> str:
        # The window always ends with the head; base58 is slow enough to be worth not redoing.
        return self._window[-1][1]

    def recent_block_height(self, block_hash: str) -> int | None:
        """The height of a block within the validity window, by hash; None if not in it."""
        return self._hash_heights.get(block_hash)

    def block_timestamp(self, height: int) -> int | None:
        """Timestamp of a block: its own, or that of the last recorded block before it
        (heights skipped by fast-forward); None once older than the kept history."""
        if height in self._block_ts:
            return self._block_ts[height]
        heights = list(self._block_ts)
        index = bisect.bisect_right(heights, height) - 1
        return self._block_ts[heights[index]] if index >= 0 else None
