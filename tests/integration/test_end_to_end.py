"""The whole marketplace loop over HTTP, with PostgreSQL, Redis, a real Celery worker
and the local NEAR RPC; at the end the chain's balances must equal the ledger's."""

import time

import pytest
import requests

from payouts.models import Payout
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate
from payouts.selectors import ledger_trial_balance
from payouts.services.earnings import payouts_auto_sweep
from payouts.services.ledger import IN_FLIGHT_KEY, PLATFORM_FEES_KEY
from tests.conftest import PLATFORM_ACCOUNT, PLATFORM_CAPITAL, nep413_body
from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TRUTH = {f"t{n}": ("cat" if n % 2 else "dog") for n in range(6)}


class Http:
    def __init__(self, base: str, username: str) -> None:
        user = UserFactory(username=username)
        user.set_password("pw-long-enough-1")
        user.save()
        self.base = base
        self.session = requests.Session()
        token = self.session.post(
            f"{base}/api/auth/token", data={"username": username, "password": "pw-long-enough-1"}
        ).json()["token"]
        self.session.headers["Authorization"] = f"Token {token}"

    def near_account_prove(self, key) -> None:
        """Link `key`'s account as a wallet would: sign a fresh challenge with it."""
        challenge = self.call("POST", "/api/auth/near/challenge", 201)
        self.call("POST", "/api/me/near-account", 200, json=nep413_body(key, challenge))

    def call(self, method: str, path: str, expect: int | tuple, **kwargs) -> dict | list | None:
        response = self.session.request(method, self.base + path, timeout=30, **kwargs)
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in expected, (path, response.status_code, response.text[:500])
        return response.json() if response.content else None


def _wait(predicate, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_whole_loop_pays_contributors_and_matches_the_chain(
    live_server, chain, celery_worker_process
) -> None:
    base = live_server.url
    requester = Http(base, "req")
    wallet = chain.account_create(amount_near="20", account_id="req.localnet")
    requester.near_account_prove(wallet)
    project = requester.call(
        "POST",
        "/api/projects/",
        201,
        json={
            "title": "Pets",
            "task_type": "classification",
            "label_config": ["cat", "dog"],
            "reward_per_answer": "0.1",
            "answers_per_item": 3,
        },
    )
    pid = project["id"]
    items = [{"external_id": k, "data": {"text": k}} for k in TRUTH]
    requester.call("POST", f"/api/projects/{pid}/items/", 201, json=items)
    required = requester.call("GET", f"/api/projects/{pid}/", 200)["funding"]["required"]
    assert required == "1.98"  # 6 items x 3 answers x (0.1 + 10 % fee)
    tx_hash = chain.transfer(
        key=wallet, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto(required)
    )
    requester.call("POST", f"/api/projects/{pid}/deposits/", 201, json={"tx_hash": tx_hash})
    requester.call("POST", f"/api/projects/{pid}/publish", 200)

    workers = []
    for n in range(4):
        worker = Http(base, f"w{n}")
        worker.near_account_prove(key_generate())
        workers.append(worker)
    answered = 0
    for index, worker in enumerate(workers):
        while (
            assignment := worker.call("GET", f"/api/projects/{pid}/next", (200, 204))
        ) is not None:
            external = assignment["item"]["data"]["text"]
            label = (
                TRUTH[external] if index != 3 else ("dog" if TRUTH[external] == "cat" else "cat")
            )
            worker.call(
                "POST",
                f"/api/assignments/{assignment['id']}/submit",
                201,
                json={"answer": {"label": label}, "time_on_task_ms": 1200},
            )
            answered += 1
    assert answered == 18

    def resolved() -> bool:
        return (
            requester.call("GET", f"/api/projects/{pid}/", 200)["progress"]["items_resolved"] == 6
        )

    _wait(resolved, seconds=60, what="the worker to resolve every item")

    # Nobody asks to be paid: every accepted answer is paid out automatically (the
    # threshold defaults to the smallest payout). Earnings credited while the
    # contributor's previous payout was still open wait for the sweep, run here as
    # beat would run it.
    def all_paid() -> bool:
        if Payout.objects.filter(status__in=Payout.OPEN_STATUSES).exists():
            return False
        if any(w.call("GET", "/api/me/", 200)["balance"] != "0" for w in workers):
            payouts_auto_sweep(older_than_seconds=0)
            return False
        return True

    _wait(all_paid, seconds=60, what="every balance to be paid out automatically")

    # The careless contributor answered against the majority every time: nothing earned.
    progress = requester.call("GET", f"/api/projects/{pid}/", 200)["progress"]
    assert progress["answers_accepted"] + progress["answers_rejected"] == 18
    earned = []
    for worker in workers:
        me = worker.call("GET", "/api/me/", 200)
        assert me["paid"] == me["earned"]
        assert chain.balance(me["near_account_id"]) == near_to_yocto(me["paid"])
        statuses = {p["status"] for p in worker.call("GET", "/api/me/payouts", 200)}
        assert statuses <= {"confirmed"}
        earned.append(me["earned"])
    assert earned[3] == "0"
    assert all(e != "0" for e in earned[:3])
    balances = ledger_trial_balance()
    assert sum(balances.values()) == 0
    assert balances.get(IN_FLIGHT_KEY, 0) == 0
    held = sum(
        v
        for k, v in balances.items()
        if k.startswith(("escrow:", "earnings:")) or k == PLATFORM_FEES_KEY
    )
    assert chain.balance(PLATFORM_ACCOUNT) == PLATFORM_CAPITAL + held
    transfers = chain.client.sandbox("sandbox_transfers", {})
    paid_on_chain = sorted(
        (t["receiver_id"], int(t["amount"]))
        for t in transfers
        if t["signer_id"] == PLATFORM_ACCOUNT
    )
    assert paid_on_chain == sorted(
        (p.receiver_id, p.amount) for p in Payout.objects.filter(status=Payout.Status.CONFIRMED)
    )

    export = requester.session.get(f"{base}/api/projects/{pid}/export?format=jsonl", timeout=30)
    lines = export.text.splitlines()
    assert len(lines) == 6
    assert all('"final_answer"' in line for line in lines)
