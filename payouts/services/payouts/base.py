"""What every payout step shares: the unknown-outcome error, event rows, error notes."""

from dataclasses import dataclass
from typing import TypeVar

from payouts.models import Payout, PayoutEvent

_T = TypeVar("_T")


class PayoutOutcomeUnknownError(Exception):
    """The chain's answer about a payout's transaction did not arrive; ask again later."""


@dataclass(frozen=True)
class Block:
    hash: str
    height: int


def payout_event_record(payout: Payout, *, from_status: str, detail: str = "") -> None:
    PayoutEvent.objects.create(
        payout=payout,
        from_status=from_status,
        to_status=payout.status,
        detail=detail[:500],
        tx_hash=payout.tx_hash or "",
    )


def payout_signed_field(payout: Payout, value: _T | None, name: str) -> _T:
    """`value`, the payout's field `name`, which a signed or submitted payout always has:
    payout_sign sets its signing key, nonce, hash and bytes with the status, and reopening
    clears them with it. Raises RuntimeError if it is None (a corrupt row: nothing is sent,
    looked up or booked for it)."""
    if value is None:
        raise RuntimeError(f"payout {payout.public_id} is {payout.status} without its {name}")
    return value


def payout_error_note(payout: Payout, message: str) -> None:
    Payout.objects.filter(pk=payout.pk).update(last_error=message[:500])
