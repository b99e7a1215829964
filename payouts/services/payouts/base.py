"""What every payout step shares: the unknown-outcome error, event rows, error notes."""

from dataclasses import dataclass

from payouts.models import Payout, PayoutEvent


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


def payout_error_note(payout: Payout, message: str) -> None:
    Payout.objects.filter(pk=payout.pk).update(last_error=message[:500])
