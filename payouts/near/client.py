"""A small synchronous NEAR JSON-RPC client (mainnet, testnet, or the project's localnet).

Error model - what a caller may conclude:

- NearTransportError: there is no usable answer (connection refused/reset, read timeout,
  HTTP 5xx, a body that is not JSON-RPC). For a send, the outcome is UNKNOWN: the transaction
  may or may not have landed; look it up with ``tx_lookup`` before signing anything new.
- NearRpcError: the node answered with a JSON-RPC error object. ``is_timeout`` (and
  ``is_outcome_unknown``) again mean the outcome is unknown; ``invalid_tx`` set means the
  transaction was refused and did not land; ``is_request_validation`` means the node could
  not parse the request (a bug or bad input on this side, not an outage).

Waiting: nearcore's ``send_tx`` and ``tx`` with a ``wait_until`` other than NONE poll for up to
the node's polling timeout (10 s by default, chain/jsonrpc/src/lib.rs ``RpcPollingConfig``)
and then answer TIMEOUT_ERROR, also for a hash the node has never seen. Only ``wait_until``
NONE answers at once, with UNKNOWN_TRANSACTION for an unseen hash: ``tx_lookup`` asks that
way. The read timeout (``NEAR_RPC_TIMEOUT``) must exceed the node's polling timeout, or a
waiting call is cut before the node's own answer arrives.

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
    "DEFAULT_TIMEOUT",
    "NearClient",
    "NearError",
    "NearRpcError",
    "NearTransportError",
    "Outcome",
    "TxStatus",
    "outcome_summary",
]

log = logging.getLogger(__name__)

# nearcore's TxExecutionStatus levels accepted by send_tx / tx (weakest first).
WAIT_UNTIL = ("NONE", "INCLUDED", "EXECUTED_OPTIMISTIC", "INCLUDED_FINAL", "EXECUTED", "FINAL")
FINALITIES = ("optimistic", "near-final", "final")
HTTP_SERVER_ERROR = 500
# Seconds for connect and each read: above nearcore's 10 s polling timeout, with a margin, so
# a send or lookup that waits hears the node's TIMEOUT_ERROR rather than cutting it short.
DEFAULT_TIMEOUT = 20.0


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
        """The node gave up waiting (TIMEOUT_ERROR): the transaction's outcome is UNKNOWN.

        Newer nearcore versions add ``cause.info.cause`` (NOT_OBSERVED, PENDING with the last
        status, ...); it is informative only and not relied on here.
        """
        return self.cause_name == "TIMEOUT_ERROR"

    @property
    def is_request_validation(self) -> bool:
        """The node could not parse the request (PARSE_ERROR, METHOD_NOT_FOUND): it did
        nothing with it, and asking again the same way gets the same answer."""
        return self.name == "REQUEST_VALIDATION_ERROR"

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


def _object(result: Any, *, method: str) -> dict[str, Any]:
    """A result that must be a JSON object; anything else is no usable answer."""
    if not isinstance(result, dict):
        raise NearTransportError(f"{method}: the result is not an object", method=method)
    return result


def _b64(signed_tx: bytes) -> str:
    if not isinstance(signed_tx, bytes | bytearray):
        raise TypeError("signed_tx must be the signed transaction's bytes")
    return base64.b64encode(bytes(signed_tx)).decode("ascii")


class NearClient:
    """Blocking JSON-RPC client over a ``requests.Session`` (thread-safe for concurrent calls).

    No call retries on its own: a retry of a send is a decision only the caller can make
    (after ``tx_status``), so a transport failure is always surfaced.
    """

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
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
        return _object(self.call("status", []), method="status")

    def latest_block(self, *, finality: str = "final") -> dict[str, Any]:
        """The latest block at ``finality`` ("final", "near-final", "optimistic"). Read-only."""
        return _object(self.call("block", {"finality": finality}), method="block")

    def view_account(self, *, account_id: str, finality: str = "final") -> dict[str, Any]:
        """``{"amount": "<yocto str>", "locked", "code_hash", "storage_usage", "block_hash",
        "block_height", ...}``. Read-only; an unknown account raises NearRpcError with
        ``is_unknown_account``."""
        return _object(
            self.call(
                "query",
                {"request_type": "view_account", "finality": finality, "account_id": account_id},
            ),
            method="query",
        )

    def view_access_key(
        self, *, account_id: str, public_key: str, finality: str = "final"
    ) -> dict[str, Any]:
        """``{"nonce", "permission", "block_hash", "block_height"}``. Read-only.

        nearcore reports a missing key inside ``result`` as ``{"error": "access key ... does
        not exist while viewing", ...}``; this raises that as NearRpcError with
        ``is_unknown_access_key`` instead, so callers see one shape.
        """
        result = _object(
            self.call(
                "query",
                {
                    "request_type": "view_access_key",
                    "finality": finality,
                    "account_id": account_id,
                    "public_key": public_key,
                },
            ),
            method="query",
        )
        if "error" in result and "nonce" not in result:
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
        ``is_timeout`` = outcome unknown (use tx_lookup): the node waits up to its polling
        timeout, so a transaction accepted but not (yet) included ends as a timeout.
        """
        if wait_until not in WAIT_UNTIL:
            raise ValueError(f"wait_until must be one of {WAIT_UNTIL}, got {wait_until!r}")
        return _object(
            self.call("send_tx", {"signed_tx_base64": _b64(signed_tx), "wait_until": wait_until}),
            method="send_tx",
        )

    def broadcast_tx_async(self, *, signed_tx: bytes) -> str:
        """Hand a signed transaction to the node without waiting; returns its hash.

        The node does not report validity here: a refused transaction just never appears
        (tx_status keeps answering UNKNOWN_TRANSACTION). Repeat calls are safe.
        """
        tx_hash = self.call("broadcast_tx_async", [_b64(signed_tx)])
        if not isinstance(tx_hash, str):
            raise NearTransportError(
                "broadcast_tx_async: the result is not a hash", method="broadcast_tx_async"
            )
        return tx_hash

    def tx_status(
        self, *, tx_hash: str, sender_account_id: str, wait_until: str = "FINAL"
    ) -> dict[str, Any]:
        """The outcome of transaction ``tx_hash`` signed by ``sender_account_id``, once it
        reached ``wait_until``. Read-only.

        The node waits up to its polling timeout: a hash it does not know, or a transaction
        short of ``wait_until``, ends as NearRpcError ``is_timeout`` (outcome unknown). Only
        with ``wait_until`` NONE does an unseen hash raise ``is_unknown_transaction``; use
        ``tx_lookup`` for that.
        """
        if wait_until not in WAIT_UNTIL:
            raise ValueError(f"wait_until must be one of {WAIT_UNTIL}, got {wait_until!r}")
        return _object(
            self.call(
                "tx",
                {
                    "tx_hash": tx_hash,
                    "sender_account_id": sender_account_id,
                    "wait_until": wait_until,
                },
            ),
            method="tx",
        )

    def tx_lookup(self, *, tx_hash: str, sender_account_id: str) -> TxStatus | None:
        """What the node knows of ``tx_hash`` now, without waiting (``tx``, wait_until NONE).

        None: the node has never seen the hash (UNKNOWN_TRANSACTION). Otherwise a TxStatus:
        with ``result`` None the node knows nothing usable yet (included without outcome, or
        a node not tracking the signer's shard, which answers status NONE): not a proof of
        absence. Read-only; raises NearTransportError / NearRpcError as ``call`` does.
        """
        try:
            answer = self.tx_status(
                tx_hash=tx_hash, sender_account_id=sender_account_id, wait_until="NONE"
            )
        except NearRpcError as exc:
            if exc.is_unknown_transaction:
                return None
            raise
        status = answer.get("final_execution_status")
        has_outcome = "transaction" in answer and "transaction_outcome" in answer
        return TxStatus(
            final_execution_status=status if isinstance(status, str) else "NONE",
            result=answer if has_outcome else None,
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


@dataclass(frozen=True)
class TxStatus:
    """What a node knows of a transaction right now (``tx`` with wait_until NONE)."""

    # nearcore's TxExecutionStatus of what the node has: NONE, INCLUDED, EXECUTED_OPTIMISTIC,
    # INCLUDED_FINAL, EXECUTED or FINAL.
    final_execution_status: str
    # The FinalExecutionOutcomeView, or None when the node has no outcome to show yet.
    result: dict[str, Any] | None

    @property
    def outcome(self) -> Outcome | None:
        return outcome_summary(self.result) if self.result is not None else None

    @property
    def is_final(self) -> bool:
        """Executed, with every outcome in a final block: only this is booked."""
        outcome = self.outcome
        return (
            outcome is not None
            and outcome.succeeded is not None
            and self.final_execution_status == "FINAL"
        )


def _status_failure(status: Any) -> dict[str, Any] | None:
    failure = status.get("Failure") if isinstance(status, dict) else None
    return failure if isinstance(failure, dict) else None


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
