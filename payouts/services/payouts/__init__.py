"""Payouts: exactly-once NEAR transfers of contributors' earnings.

The state machine (DESIGN.md): pending -> signed -> submitted -> confirmed | failed.

- Requesting a payout debits the earnings in the same transaction that creates it;
  the send task is enqueued on commit.
- Signing allocates a nonce under the signing key's row lock and commits the signed
  bytes, hash, nonce and block hash before anything is broadcast.
- Broadcasting sends those same bytes, however often; the chain treats a repeat of a
  known transaction as the same transaction.
- An unknown outcome is resolved by asking the chain for the hash without waiting
  (``tx`` with wait_until NONE; a waiting ``tx`` answers TIMEOUT_ERROR for a hash it
  never saw). Final: booked. Known but not final, or answered without an outcome: wait.
  Unknown and still includable: the same bytes are broadcast again. A payout is signed
  again (new nonce) only when its transaction provably can never land: the chain does
  not know the hash and, read before asking, its block hash is past the validity
  window, the key's nonce on chain has reached the transaction's nonce, or the key is
  gone.

Modules: `request` (debit and create), `signing` (nonce, signature, `signed`),
`settlement` (broadcast, resolve, book, reconcile). Every function here is safe to run
twice, concurrently, or to be killed between any two lines: each step re-reads and
locks the payout row and checks its state first. No row lock is held across a network
call."""

from payouts.services.payouts.base import PayoutOutcomeUnknownError
from payouts.services.payouts.request import payout_request, payout_request_once
from payouts.services.payouts.settlement import (
    Resolution,
    payout_finish,
    payout_resolution,
    payout_resolve,
    payout_send,
    payouts_reconcile,
    payouts_settle,
)
from payouts.services.payouts.signing import payout_sign

__all__ = [
    "PayoutOutcomeUnknownError",
    "Resolution",
    "payout_finish",
    "payout_request",
    "payout_request_once",
    "payout_resolution",
    "payout_resolve",
    "payout_send",
    "payout_sign",
    "payouts_reconcile",
    "payouts_settle",
]
