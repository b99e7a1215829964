"""Injected faults: what goes wrong between a payout system and a NEAR node, on demand.

``sandbox_fault {"fault", "count", "method", "delay", "ahead"}`` arms a fault for the next
``count`` calls of the named methods (by default the send methods, or the lookups for
``shard_not_tracked``). Faults live in memory only: a restart clears them.

Each models something that really happens:

- ``drop_request_before_apply``: the connection is cut before the request reaches the node
  (a proxy, a reset, a crash on the way): nothing is applied; the client sees a transport
  error and cannot tell this from a lost response.
- ``drop_response_after_apply``: the node applies the transaction, then the connection drops
  before the answer arrives.
- ``timeout_before_apply``: the node answers TIMEOUT_ERROR (HTTP 408) after ``delay`` seconds
  without applying anything (an overloaded node).
- ``http_500``: the node answers INTERNAL_ERROR (HTTP 500), applying nothing.
- ``key_used_elsewhere``: someone else signed with the same access key (another process, a
  wallet holding the key) and that transaction landed just before this one: the key's nonce
  on chain becomes this transaction's nonce + ``ahead``, a real, persisted change in a new
  block; the send is then refused with a genuine InvalidNonce (runtime/runtime/src/
  verifier.rs ``verify_nonce``). Only the nonce is modelled, not the other transaction's
  transfer or gas.
- ``lost_broadcast``: the node accepts the transaction (it passes validation) but it is never
  included: a chunk producer dropped it. ``send_tx`` with ``wait_until`` NONE and
  ``broadcast_tx_async`` answer as usual; other sends poll and answer TIMEOUT_ERROR, as
  nearcore's ``tx_status_fetch`` does; lookups keep answering UNKNOWN_TRANSACTION. Sending the
  same bytes again gives it a new chance.
- ``shard_not_tracked``: a lookup reaches a node that does not track the signer's shard:
  chain/client/src/view_client_actor.rs ``get_tx_status`` forwards the question and answers
  ``execution_outcome: None, status: NONE``, so ``wait_until`` NONE answers
  ``{"final_execution_status": "NONE"}`` and any other wait polls until TIMEOUT_ERROR.
- ``invalid_nonce``, ``not_enough_balance``: the node refuses the transaction as InvalidNonce
  / NotEnoughBalance without any state behind it (a synthetic refusal; prefer
  ``key_used_elsewhere`` for a genuine one).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from payouts.near.localnet.errors import parse_error
from payouts.near.localnet.params import named

SEND_METHODS = ("send_tx", "broadcast_tx_commit", "broadcast_tx_async")
LOOKUP_METHODS = ("tx", "EXPERIMENTAL_tx_status")
DEFAULT_FAULT_DELAY = 0.1  # seconds timeout_before_apply waits before answering

# The faults that change what a method does, and the methods they make sense for; the
# others happen around any method.
_ONLY_FOR = {
    "key_used_elsewhere": SEND_METHODS,
    "lost_broadcast": SEND_METHODS,
    "invalid_nonce": SEND_METHODS,
    "not_enough_balance": SEND_METHODS,
    "shard_not_tracked": LOOKUP_METHODS,
}
FAULTS = frozenset(
    {
        "drop_request_before_apply",
        "drop_response_after_apply",
        "timeout_before_apply",
        "http_500",
        "key_used_elsewhere",
        "lost_broadcast",
        "shard_not_tracked",
        "invalid_nonce",
        "not_enough_balance",
    }
)


@dataclass
class Fault:
    fault: str
    count: int  # calls left
    methods: list[str] = field(default_factory=lambda: list(SEND_METHODS))
    delay_seconds: float = DEFAULT_FAULT_DELAY  # timeout_before_apply waits this long
    ahead: int = 0  # nonces past the transaction's (key_used_elsewhere)

    def view(self) -> dict[str, Any]:
        return asdict(self)


def _non_negative_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise parse_error(f"Failed parsing args: {name} must be a non-negative integer")
    return value


def fault_parse(params: Any) -> Fault:
    """The fault ``sandbox_fault`` asks for; PARSE_ERROR for anything malformed."""
    request = named(params, ("fault", "count", "method"))
    name = request.get("fault")
    if name not in FAULTS:
        raise parse_error(f"Failed parsing args: fault must be one of {sorted(FAULTS)}")
    count = _non_negative_int(request.get("count", 1), "count")
    if count < 1:
        raise parse_error("Failed parsing args: count must be a positive integer")
    method = request.get("method")
    if method is None:
        methods = list(LOOKUP_METHODS if name == "shard_not_tracked" else SEND_METHODS)
    elif isinstance(method, str):
        methods = [method]
    elif isinstance(method, list) and all(isinstance(m, str) for m in method):
        methods = list(method)
    else:
        raise parse_error("Failed parsing args: method must be a string or list of strings")
    allowed = _ONLY_FOR.get(name)
    if allowed is not None and not set(methods) <= set(allowed):
        raise parse_error(f"Failed parsing args: {name} applies only to {', '.join(allowed)}")
    delay = request.get("delay", DEFAULT_FAULT_DELAY)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise parse_error("Failed parsing args: delay must be a non-negative number")
    ahead = _non_negative_int(request.get("ahead", 0), "ahead")
    return Fault(
        fault=str(name), count=count, methods=methods, delay_seconds=float(delay), ahead=ahead
    )


class FaultBook:
    """The armed faults, first armed first taken. The caller holds the node's lock."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def arm(self, fault: Fault) -> list[dict[str, Any]]:
        self._faults.append(fault)
        return [f.view() for f in self._faults]

    def clear(self) -> int:
        cleared = len(self._faults)
        self._faults.clear()
        return cleared

    def take(self, method: str) -> Fault | None:
        """Use up one call of the first fault armed for ``method``; a copy of it, or None."""
        for fault in self._faults:
            if method in fault.methods:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return Fault(**asdict(fault))
        return None
