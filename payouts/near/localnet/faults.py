"""Injected faults: what goes wrong between a payout system and a NEAR node, on demand.

``sandbox_fault {"fault", "count", "method", "delay"}`` arms a fault for the next ``count``
calls of the named methods (the send methods unless ``method`` names others). Faults live in
memory only: a restart clears them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from payouts.near.localnet.errors import parse_error
from payouts.near.localnet.params import named

SEND_METHODS = ("send_tx", "broadcast_tx_commit", "broadcast_tx_async")
DEFAULT_FAULT_DELAY = 0.1  # seconds timeout_before_apply waits before answering

FAULTS = frozenset(
    {
        "drop_response_after_apply",  # apply, then close the connection without answering
        "timeout_before_apply",  # sleep, answer TIMEOUT_ERROR (HTTP 408), apply nothing
        "http_500",  # answer HTTP 500 INTERNAL_ERROR, apply nothing
        "invalid_nonce",  # refuse the transaction as InvalidNonce
        "not_enough_balance",  # refuse the transaction as NotEnoughBalance
    }
)


@dataclass
class Fault:
    fault: str
    count: int  # calls left
    methods: list[str] = field(default_factory=lambda: list(SEND_METHODS))
    delay: float = DEFAULT_FAULT_DELAY  # seconds

    def view(self) -> dict[str, Any]:
        return asdict(self)


def fault_parse(params: Any) -> Fault:
    """The fault ``sandbox_fault`` asks for; PARSE_ERROR for anything malformed."""
    request = named(params, ("fault", "count", "method"))
    name = request.get("fault")
    if name not in FAULTS:
        raise parse_error(f"Failed parsing args: fault must be one of {sorted(FAULTS)}")
    count = request.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise parse_error("Failed parsing args: count must be a positive integer")
    method = request.get("method")
    if method is None:
        methods = list(SEND_METHODS)
    elif isinstance(method, str):
        methods = [method]
    elif isinstance(method, list) and all(isinstance(m, str) for m in method):
        methods = list(method)
    else:
        raise parse_error("Failed parsing args: method must be a string or list of strings")
    delay = request.get("delay", DEFAULT_FAULT_DELAY)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise parse_error("Failed parsing args: delay must be a non-negative number")
    return Fault(fault=str(name), count=count, methods=methods, delay=float(delay))


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
