"""Chaos: hundreds of payouts while Celery workers are SIGKILLed at random moments and
the NEAR RPC fails in every way it can, including transactions that never land (the key's
nonce used elsewhere, a request cut before the node, a broadcast accepted and lost). After
reconciliation every earning is paid exactly once on chain, nothing is stuck, and the chain
agrees with the ledger."""

import os
import random
import time
from collections import defaultdict

import pytest
from django.utils import timezone

from payouts.models import NearAccount, Payout
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate
from payouts.selectors import ledger_trial_balance
from payouts.services.ledger import IN_FLIGHT_KEY, PLATFORM_FEES_KEY
from payouts.services.payouts import payout_request, payouts_reconcile
from tests.conftest import PLATFORM_ACCOUNT, PLATFORM_CAPITAL
from tests.factories import UserFactory, earnings_give
from tests.workers import CeleryWorker, tasks_sent_to, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PAYOUTS = int(os.environ.get("CHAOS_PAYOUTS", "200"))
SEED = int(os.environ.get("CHAOS_SEED", "413"))
CHAOS_SECONDS = float(os.environ.get("CHAOS_SECONDS", "25"))
FAULTS = [
    "drop_request_before_apply",  # cut before the node: nothing applied, transport error
    "drop_response_after_apply",
    "timeout_before_apply",
    "http_500",
    "key_used_elsewhere",  # another sender used the key's nonce: genuine InvalidNonce
    "lost_broadcast",  # accepted, never included: the FINAL send times out
    "shard_not_tracked",  # a lookup answered without an outcome
    "invalid_nonce",
    "not_enough_balance",
]


def _contributors(count: int) -> list:
    users = []
    for _ in range(count):
        user = UserFactory()
        NearAccount.objects.create(
            user=user, account_id=key_generate().account_id, verified_at=timezone.now()
        )
        earnings_give(user, near_to_yocto("0.1"))
        users.append(user)
    return users


def test_payouts_are_paid_exactly_once_under_chaos(chain, real_services, tmp_path, settings):
    settings.AUTO_PAYOUT_NEAR = ""  # only the payouts this test requests
    rng = random.Random(SEED)
    users = _contributors(PAYOUTS)
    env = worker_env(redis_url=real_services, chain=chain)
    log_path = tmp_path / "workers.log"
    log_path.touch()
    workers = [CeleryWorker(env=env, log_path=log_path, name=f"chaos{n}") for n in range(2)]
    for worker in workers:
        worker.wait_ready()
    kills = faults = fast_forwards = 0
    armed: defaultdict[str, int] = defaultdict(int)
    generation = 2
    try:
        with tasks_sent_to(real_services):
            for user in users:
                payout_request(user=user, amount=near_to_yocto("0.1"))
            deadline = time.monotonic() + CHAOS_SECONDS
            while time.monotonic() < deadline:
                roll = rng.random()
                if roll < 0.3:
                    victim = workers.pop(rng.randrange(len(workers)))
                    victim.kill()  # SIGKILL, wherever it is: mid-transaction, mid-broadcast
                    kills += 1
                    workers.append(
                        CeleryWorker(env=env, log_path=log_path, name=f"chaos{generation}")
                    )
                    generation += 1
                elif roll < 0.35:
                    # Expire every block hash signed so far: signed-but-unsent payouts die.
                    chain.client.sandbox(
                        "sandbox_fast_forward",
                        {"delta_height": settings.NEAR_TX_VALIDITY_BLOCKS + 1},
                    )
                    fast_forwards += 1
                else:
                    fault = rng.choice(FAULTS)
                    chain.client.sandbox(
                        "sandbox_fault", {"fault": fault, "count": rng.randint(1, 3)}
                    )
                    armed[fault] += 1
                    faults += 1
                time.sleep(rng.uniform(0.1, 0.8))
                enough_chaos = kills >= 3 and faults >= 5
                if (
                    enough_chaos
                    and not Payout.objects.filter(status__in=Payout.OPEN_STATUSES).exists()
                ):
                    break
    finally:
        for worker in workers:
            worker.kill()
        chain.client.sandbox("sandbox_clear_faults", {})

    # Reconciliation settles whatever the chaos left open.
    reconcile_rounds = 0
    for _ in range(30):
        if not Payout.objects.filter(status__in=Payout.OPEN_STATUSES).exists():
            break
        payouts_reconcile(older_than_seconds=0)
        reconcile_rounds += 1

    assert kills >= 3, "the chaos did not kill enough workers to mean anything"
    assert faults >= 5
    payouts = list(Payout.objects.order_by("pk"))
    assert len(payouts) == PAYOUTS
    stuck = [p for p in payouts if p.status in Payout.OPEN_STATUSES]
    assert stuck == [], [(p.public_id, p.status, p.last_error) for p in stuck[:5]]
    assert {p.status for p in payouts} == {Payout.Status.CONFIRMED}

    # Exactly once: every receiver got exactly one transfer, the one the payout recorded.
    received = defaultdict(list)
    for transfer in chain.client.sandbox("sandbox_transfers", {}):
        if transfer["signer_id"] == PLATFORM_ACCOUNT and transfer["succeeded"]:
            received[transfer["receiver_id"]].append(transfer)
    for payout in payouts:
        transfers = received.pop(payout.receiver_id, [])
        assert len(transfers) == 1, (payout.receiver_id, transfers)
        assert transfers[0]["tx_hash"] == payout.tx_hash
        assert int(transfers[0]["amount"]) == payout.amount
        assert chain.balance(payout.receiver_id) == payout.amount
    assert not received, "the platform paid an account that no payout names"

    balances = ledger_trial_balance()
    assert sum(balances.values()) == 0
    assert balances.get(IN_FLIGHT_KEY, 0) == 0
    assert all(v == 0 for k, v in balances.items() if k.startswith("earnings:"))
    held = sum(v for k, v in balances.items() if k.startswith("escrow:") or k == PLATFORM_FEES_KEY)
    # The earnings were funded by ledger-only test deposits (no NEAR arrived for them).
    funded_off_chain = PAYOUTS * near_to_yocto("0.1")
    assert chain.balance(PLATFORM_ACCOUNT) == PLATFORM_CAPITAL + held - funded_off_chain
    print(  # the figures of this run, for the record
        f"chaos: {PAYOUTS} payouts, {kills} workers killed, {faults} faults "
        f"({', '.join(f'{name} {n}' for name, n in sorted(armed.items()))}), "
        f"{fast_forwards} fast-forwards, re-signed {sum(p.signatures > 1 for p in payouts)}, "
        f"max attempts {max(p.attempts for p in payouts)}, "
        f"{reconcile_rounds} reconciliation rounds after the chaos"
    )
