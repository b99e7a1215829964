"""A small synchronous NEAR JSON-RPC client (mainnet, testnet, or the project's localnet).

Error model - what a caller may conclude:

- NearTransportError: there is no usable answer (connection refused/reset, read timeout,
  HTTP 5xx, a body that is not JSON-RPC). For a send, the outcome is UNKNOWN: the transaction
  may or may not have landed; look it up with ``tx_status`` before signing anything new.
- NearRpcError: the node answered with a JSON-RPC error object. ``is_timeout`` (and
  ``is_outcome_unknown``) again mean the outcome is unknown; ``invalid_tx`` set means the
  transaction was refused and did not land.

Amounts in results stay as nearcore sends them (u128 as decimal strings); helpers that sum
them return ``int`` yoctoNEAR.
"""

from __future__ import annotations

import base64
import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import requests

__all__ = [
    "NearClient",
    "NearError",
    "NearRpcError",
    "NearTransportError",
    "Outcome",
    "outcome_summary",
]

log = logging.getLogger(__name__)

# nearcore's TxExecutionStatus levels accepted by send_tx / tx (weakest first).
WAIT_UNTIL = ("NONE", "INCLUDED", "EXECUTED_OPTIMISTIC", "INCLUDED_FINAL", "EXECUTED", "FINAL")
FINALITIES = ("optimistic", "near-final", "final")
HTTP_SERVER_ERROR = 500


class NearError(Exception):
    """Base of every error raised by NearClient."""


class NearTransportError(NearError):
    """No usable answer from the node. The outcome of a send is UNKNOWN.

    ``status`` is the HTTP status when one was received; ``rpc_error`` is the JSON-RPC error
    the body carried, if any (nearcore sends INTERNAL_ERROR with HTTP 500).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        status: int | None = None,
        rpc_error: NearRpcError | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.status = status
        self.rpc_error = rpc_error


class NearRpcError(NearError):
    """The node answered with a JSON-RPC error object (nearcore's structured error).

    Shape: ``{"name": "HANDLER_ERROR", "cause": {"name": "INVALID_TRANSACTION", "info": {..}},
    "code": -32000, "message": "Server error", "data": ..}``.
    """

    def __init__(
        self,
        *,
        name: str,
        cause_name: str | None,
        cause_info: dict[str, Any] | None,
        code: int | None,
        message: str,
        data: Any,
        method: str = "",
        http_status: int | None = None,
    ) -> None:
        self.name = name
        self.cause_name = cause_name
        self.cause_info = cause_info
        self.code = code
        self.message = message
        self.data = data
        self.method = method
        self.http_status = http_status
        detail = f" {self.invalid_tx}" if self.invalid_tx else ""
        super().__init__(f"{method}: {name}/{cause_name}{detail}: {message}")

    @classmethod
    def from_payload(
        cls, error: dict[str, Any], *, method: str = "", http_status: int | None = None
    ) -> NearRpcError:
        """Build from a JSON-RPC ``error`` object; tolerates pre-structured (legacy) errors."""
        cause = error.get("cause") if isinstance(error.get("cause"), dict) else None
        cause_info = cause.get("info") if cause and isinstance(cause.get("info"), dict) else None
        code = error.get("code")
        return cls(
            name=str(error.get("name") or "UNKNOWN_ERROR"),
            cause_name=str(cause["name"]) if cause and cause.get("name") is not None else None,
            cause_info=cause_info,
            code=code if isinstance(code, int) else None,
            message=str(error.get("message", "")),
            data=error.get("data"),
            method=method,
            http_status=http_status,
        )

    @property
    def is_unknown_transaction(self) -> bool:
        """The node has no record of the transaction (never seen, or not yet seen)."""
        return self.cause_name == "UNKNOWN_TRANSACTION"

    @property
    def is_timeout(self) -> bool:
        """The node gave up waiting (TIMEOUT_ERROR): the transaction's outcome is UNKNOWN."""
        return self.cause_name == "TIMEOUT_ERROR"

    @property
    def is_outcome_unknown(self) -> bool:
        """Whether a send that got this error may still have landed (timeout, internal error)."""
        return self.is_timeout or self.name == "INTERNAL_ERROR"

    @property
    def is_unknown_account(self) -> bool:
        return self.cause_name == "UNKNOWN_ACCOUNT"

    @property
    def is_unknown_access_key(self) -> bool:
        return self.cause_name == "UNKNOWN_ACCESS_KEY"

    @property
    def is_parse_error(self) -> bool:
        return self.cause_name == "PARSE_ERROR"

    @property
    def invalid_tx(self) -> dict[str, Any] | None:
        """The InvalidTxError, e.g. ``{"InvalidNonce": {"tx_nonce": 5, "ak_nonce": 7}}``.

        Unit variants, which nearcore sends as a bare string ("Expired", "InvalidSignature"),
        come back as ``{"Expired": None}`` so ``"Expired" in err.invalid_tx`` works for all.
        None when this is not a refused transaction.
        """
        value: Any = None
        if isinstance(self.data, dict):
            tx_error = self.data.get("TxExecutionError")
            if isinstance(tx_error, dict):
                value = tx_error.get("InvalidTxError")
        # Some nodes/versions also put the InvalidTxError into cause.info.
        if value is None and self.cause_name == "INVALID_TRANSACTION" and self.cause_info:
            value = self.cause_info.get("InvalidTxError", self.cause_info)
        if isinstance(value, str):
            return {value: None}
        if isinstance(value, dict) and value:
            return value
        return None

    @property
    def invalid_tx_kind(self) -> str | None:
        """The InvalidTxError variant name ("InvalidNonce", "Expired", ...), or None."""
        invalid = self.invalid_tx
        return next(iter(invalid)) if invalid else None


def _b64(signed_tx: bytes) -> str:
    if not isinstance(signed_tx, bytes | bytearray):
        raise TypeError("signed_tx must be the signed transaction's bytes")
    return base64.b64encode(bytes(signed_tx)).decode("ascii")


class NearClient:
    """Blocking JSON-RPC client over a ``requests.Session`` (thread-safe for concurrent calls).

    No call retries on its own: a retry of a send is a decision only the caller can make
    (after ``tx_status``), so a transport failure is always surfaced.
    """

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout  # seconds, for connect and for each read
        self._session = requests.Session()
        # Resolve proxy settings from the environment once: requests would otherwise rescan
        # os.environ on every call, which costs more than a localnet round trip.
        self._proxies = requests.utils.get_environ_proxies(url)
        self._session.trust_env = False
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"NearClient(url={self.url!r})"

    def close(self) -> None:
        """Close pooled connections. Safe to call repeatedly."""
        self._session.close()

    def __enter__(self) -> NearClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, params: Any) -> Any:
        """One JSON-RPC call; returns ``result``.

        A repeat call sends a new request (reads are harmless; see send_tx for sends).
        Raises NearTransportError (no usable answer) or NearRpcError (node error object).
        """
        with self._ids_lock:
            request_id = f"nearlabel-{next(self._ids)}"
        payload = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        try:
            response = self._session.post(
                self.url, json=payload, timeout=self.timeout, proxies=self._proxies
            )
        except requests.Timeout as exc:
            raise NearTransportError(
                f"{method}: no answer within {self.timeout}s ({type(exc).__name__})",
                method=method,
            ) from exc
        except requests.RequestException as exc:
            raise NearTransportError(
                f"{method}: transport failure ({type(exc).__name__}: {exc})", method=method
            ) from exc
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        rpc_error = (
            NearRpcError.from_payload(error, method=method, http_status=status)
            if isinstance(error, dict)
            else None
        )
        if status >= HTTP_SERVER_ERROR:
            raise NearTransportError(
                f"{method}: HTTP {status}" + (f" ({rpc_error})" if rpc_error else ""),
                method=method,
                status=status,
                rpc_error=rpc_error,
            )
        if rpc_error is not None:
            # nearcore answers request-validation errors with 400 and timeouts with 408, both
            # with a JSON-RPC error body: the body is the answer.
            raise rpc_error
        if not isinstance(body, dict) or "result" not in body:
            raise NearTransportError(
                f"{method}: HTTP {status} without a JSON-RPC result", method=method, status=status
            )
        return body["result"]

    # --- chain and account views ----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Node status (chain_id, sync_info, version). Read-only."""
        return self.call("status", [])

    def latest_block(self, *, finality: str = "final") -> dict[str, Any]:
        """The latest block at ``finality`` ("final", "near-final", "optimistic"). Read-only."""
        return self.call("block", {"finality": finality})

    def view_account(self, *, account_id: str, finality: str = "final") -> dict[str, Any]:
        """``{"amount": "<yocto str>", "locked", "code_hash", "storage_usage", "block_hash",
        "block_height", ...}``. Read-only; an unknown account raises NearRpcError with
        ``is_unknown_account``."""
        return self.call(
            "query",
            {"request_type": "view_account", "finality": finality, "account_id": account_id},
        )

    def view_access_key(
        self, *, account_id: str, public_key: str, finality: str = "final"
    ) -> dict[str, Any]:
        """``{"nonce", "permission", "block_hash", "block_height"}``. Read-only.

        nearcore reports a missing key inside ``result`` as ``{"error": "access key ... does
        not exist while viewing", ...}``; this raises that as NearRpcError with
        ``is_unknown_access_key`` instead, so callers see one shape.
        """
        result = self.call(
            "query",
            {
                "request_type": "view_access_key",
                "finality": finality,
                "account_id": account_id,
                "public_key": public_key,
            },
        )
        if isinstance(result, dict) and "error" in result and "nonce" not in result:
            raise NearRpcError(
                name="HANDLER_ERROR",
                cause_name="UNKNOWN_ACCESS_KEY",
                cause_info={
                    "public_key": public_key,
                    "block_height": result.get("block_height"),
                    "block_hash": result.get("block_hash"),
                },
                code=-32000,
                message="Server error",
                data=result.get("error"),
                method="query",
            )
        return result

    # --- transactions ----------------------------------------------------------------------

    def send_tx(self, *, signed_tx: bytes, wait_until: str = "FINAL") -> dict[str, Any]:
        """Send a signed transaction and wait until ``wait_until``.

        Repeat calls with the same bytes are safe: the chain applies a transaction hash once,
        and nearcore answers a re-send of an applied transaction with its existing outcome.
        Errors: NearRpcError with ``invalid_tx`` = refused (did not land); NearTransportError or
        ``is_timeout`` = outcome unknown (use tx_status).
        """
        if wait_until not in WAIT_UNTIL:
            raise ValueError(f"wait_until must be one of {WAIT_UNTIL}, got {wait_until!r}")
        return self.call("send_tx", {"signed_tx_base64": _b64(signed_tx), "wait_until": wait_until})

    def broadcast_tx_async(self, *, signed_tx: bytes) -> str:
        """Hand a signed transaction to the node without waiting; returns its hash.

        The node does not report validity here: a refused transaction just never appears
        (tx_status keeps answering UNKNOWN_TRANSACTION). Repeat calls are safe.
        """
        return self.call("broadcast_tx_async", [_b64(signed_tx)])

    def tx_status(
        self, *, tx_hash: str, sender_account_id: str, wait_until: str = "FINAL"
    ) -> dict[str, Any]:
        """The outcome of transaction ``tx_hash`` signed by ``sender_account_id``. Read-only.

        Raises NearRpcError ``is_unknown_transaction`` when the node has no record of it.
        """
        if wait_until not in WAIT_UNTIL:
            raise ValueError(f"wait_until must be one of {WAIT_UNTIL}, got {wait_until!r}")
        return self.call(
            "tx",
            {"tx_hash": tx_hash, "sender_account_id": sender_account_id, "wait_until": wait_until},
        )

    def sandbox(self, method: str, params: dict[str, Any]) -> Any:
        """Call a localnet/sandbox admin method (name must start with ``sandbox_``).

        These change the local chain (faucet, keys, fast-forward, faults): never point them at
        a real network - real nodes answer METHOD_NOT_FOUND.
        """
        if not method.startswith("sandbox_"):
            raise ValueError(f"not a sandbox method: {method!r}")
        return self.call(method, params)


@dataclass(frozen=True)
class Outcome:
    """What a FinalExecutionOutcome means for a payout."""

    tx_hash: str | None
    # True: every receipt succeeded. False: the transaction or a receipt failed.
    # None: not executed yet (e.g. send_tx with wait_until NONE/INCLUDED).
    succeeded: bool | None
    failure: dict[str, Any] | None  # the first {"ActionError": ...} / {"InvalidTxError": ...}
    tokens_burnt: int  # yoctoNEAR burnt for gas, over the transaction and all its receipts
    # Transfer actions of the transaction: (receiver_id, yoctoNEAR). They moved funds only if
    # ``succeeded`` is True.
    transfers: list[tuple[str, int]] = field(default_factory=list)
    final_execution_status: str | None = None


def _status_failure(status: Any) -> dict[str, Any] | None:
    if isinstance(status, dict) and isinstance(status.get("Failure"), dict):
        return status["Failure"]
    return None


def _status_done(status: Any) -> bool:
    return isinstance(status, dict) and (
        "SuccessValue" in status or "SuccessReceiptId" in status or "Failure" in status
    )


def outcome_summary(result: dict[str, Any]) -> Outcome:
    """Interpret a send_tx / tx result (nearcore's FinalExecutionOutcomeView). Pure.

    ``{"SuccessValue": ..}`` is success; ``{"Failure": ..}`` anywhere (top-level status or any
    receipt outcome, e.g. ActionError AccountDoesNotExist for a transfer to a missing named
    account) makes ``succeeded`` False; "NotStarted"/"Started" or no status means None.
    Raises ValueError if ``result`` is not a dict.
    """
    if not isinstance(result, dict):
        raise ValueError("result must be a dict (a send_tx/tx result)")
    transaction = result.get("transaction") or {}
    tx_outcome = result.get("transaction_outcome") or {}
    tx_hash = transaction.get("hash") or tx_outcome.get("id")
    transfers: list[tuple[str, int]] = []
    for action in transaction.get("actions") or []:
        if isinstance(action, dict) and "Transfer" in action:
            deposit = int(action["Transfer"]["deposit"])
            transfers.append((str(transaction.get("receiver_id")), deposit))
    outcomes = [tx_outcome.get("outcome") or {}] + [
        (receipt or {}).get("outcome") or {} for receipt in result.get("receipts_outcome") or []
    ]
    tokens_burnt = sum(int(outcome.get("tokens_burnt") or 0) for outcome in outcomes)
    status = result.get("status")
    failure = _status_failure(status)
    if failure is None:
        failure = next(
            (f for f in (_status_failure(o.get("status")) for o in outcomes) if f is not None),
            None,
        )
    succeeded: bool | None
    if failure is not None:
        succeeded = False
    elif _status_done(status):
        succeeded = True
    else:
        succeeded = None
    return Outcome(
        tx_hash=tx_hash,
        succeeded=succeeded,
        failure=failure,
        tokens_burnt=tokens_burnt,
        transfers=transfers,
        final_execution_status=result.get("final_execution_status"),
    )
