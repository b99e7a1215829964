"""The demo scenario: a requester funds a project, contributors label it and are paid.

Shared by `manage.py seed_demo` (the data `make run` starts with) and `manage.py
demo` (the whole loop, headless). It drives the real REST API in process, the real
services and the chain configured in settings.
"""

import logging
import random
import secrets
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.models import Project
from payouts.money import near_to_yocto, yocto_to_near
from payouts.near.keys import NearKey, key_generate, transfer_sign
from payouts.near.nep413 import nep413_signed_body
from payouts.services.chain import near_client, platform_account_id

log = logging.getLogger(__name__)

# Short product reviews with the label a careful reader gives them.
REVIEWS = [
    ("Arrived quickly and works perfectly, would buy again.", "positive"),
    ("Broke after two days; the seller never answered.", "negative"),
    ("It does what the box says. Nothing more, nothing less.", "neutral"),
    ("Best headphones I have owned, the sound is superb.", "positive"),
    ("The battery barely lasts an hour. Very disappointed.", "negative"),
    ("Colour is slightly different from the photo.", "neutral"),
    ("Setup took two minutes and my kids love it.", "positive"),
    ("Smells of chemicals and the zip is already stuck.", "negative"),
    ("Average quality for the price.", "neutral"),
    ("Fantastic support team, they replaced it overnight.", "positive"),
    ("Stopped charging after a week, total waste of money.", "negative"),
    ("Packaging was plain; the product is fine.", "neutral"),
]
LABELS = ["positive", "negative", "neutral"]


class DemoError(Exception):
    """A step of the demo did not do what it should."""


def api_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def expect(response, status: int, step: str) -> dict:
    if response.status_code != status:
        body = getattr(response, "data", None) or response.content[:300]
        raise DemoError(f"{step}: HTTP {response.status_code} {body}")
    return response.data if hasattr(response, "data") else {}


def chain_account_fund(*, key: NearKey, amount: int) -> None:
    """Create an account on the local chain through its faucet."""
    near_client().sandbox(
        "sandbox_create_account",
        {"account_id": key.account_id, "public_key": key.public_key, "amount": str(amount)},
    )


def chain_transfer(*, key: NearKey, receiver_id: str, amount: int) -> str:
    """Sign and send a transfer from a user's own key, as their wallet would."""
    client = near_client()
    access_key = client.view_access_key(account_id=key.account_id, public_key=key.public_key)
    block = client.latest_block(finality="final")
    signed = transfer_sign(
        key=key,
        receiver_id=receiver_id,
        amount=amount,
        nonce=int(access_key["nonce"]) + 1,
        block_hash=block["header"]["hash"],
    )
    client.send_tx(signed_tx=signed.signed_bytes, wait_until="FINAL")
    return signed.tx_hash


def near_account_prove(*, api: APIClient, key: NearKey, step: str) -> None:
    """Link `key`'s account as the user's wallet would: sign a fresh challenge (NEP-413)."""
    challenge = expect(api.post("/api/auth/near/challenge"), 201, f"{step}: challenge")
    proof = nep413_signed_body(key=key, challenge=challenge)
    expect(api.post("/api/me/near-account", proof, format="json"), 200, step)


def user_make(username: str, password: str | None = None):
    user, created = get_user_model().objects.get_or_create(username=username)
    if created or password:
        user.set_password(password or secrets.token_urlsafe(12))
        user.save()
    return user


@dataclass
class FundedProject:
    project_id: str
    requester_account: str
    deposit_tx: str
    deposit: int  # yoctoNEAR


def project_funded_create(
    *, requester, title: str, reward_near: str, answers_per_item: int
) -> FundedProject:
    """Create, fill, fund (a real deposit on chain) and publish a review-sentiment project."""
    api = api_for(requester)
    # One chain account per project the requester funds here: the chain keeps the earlier
    # ones (a restarted `make run`), and their keys were not kept.
    earlier = Project.objects.filter(owner=requester).count()
    name = requester.username + (f"-{earlier + 1}" if earlier else "")
    key = key_generate(account_id=f"{name}.localnet".lower())
    chain_account_fund(key=key, amount=near_to_yocto("100"))
    near_account_prove(api=api, key=key, step="link requester")
    project = expect(
        api.post(
            "/api/projects/",
            {
                "title": title,
                "instructions": "Is the review positive, negative or neutral?",
                "task_type": "classification",
                "label_config": LABELS,
                "reward_per_answer": reward_near,
                "answers_per_item": answers_per_item,
            },
            format="json",
        ),
        201,
        "create project",
    )
    items = [
        {"external_id": f"review-{n}", "data": {"text": text}}
        for n, (text, _) in enumerate(REVIEWS)
    ]
    expect(
        api.post(f"/api/projects/{project['id']}/items/", items, format="json"), 201, "import items"
    )
    required = near_to_yocto(api.get(f"/api/projects/{project['id']}/").data["funding"]["required"])
    tx_hash = chain_transfer(key=key, receiver_id=platform_account_id(), amount=required)
    expect(
        api.post(f"/api/projects/{project['id']}/deposits/", {"tx_hash": tx_hash}, format="json"),
        201,
        "deposit",
    )
    expect(api.post(f"/api/projects/{project['id']}/publish"), 200, "publish")
    return FundedProject(project["id"], key.account_id, tx_hash, required)


def contributor_make(username: str, password: str | None = None):
    """A contributor paid to a fresh implicit account (a key only they would hold)."""
    user = user_make(username, password)
    key = key_generate()
    near_account_prove(api=api_for(user), key=key, step="link contributor")
    return user


@dataclass
class LabelingStats:
    answers: int = 0
    per_contributor: dict[str, int] = field(default_factory=dict)


def contributors_label(
    *, project_id: str, contributors: list, accuracy: dict[str, float], seed: int = 7
) -> LabelingStats:
    """Each contributor takes items until none is left, answering right with their accuracy."""
    truth = dict(REVIEWS)
    rng = random.Random(seed)  # noqa: S311  (simulated workers, not security)
    stats = LabelingStats()
    active = list(contributors)
    while active:
        for user in list(active):
            api = api_for(user)
            response = api.get(f"/api/projects/{project_id}/next")
            if response.status_code == 204:
                active.remove(user)
                continue
            assignment = expect(response, 200, "next")
            right = truth[assignment["item"]["data"]["text"]]
            label = (
                right
                if rng.random() < accuracy[user.username]
                else rng.choice([x for x in LABELS if x != right])
            )
            expect(
                api.post(
                    f"/api/assignments/{assignment['id']}/submit",
                    {"answer": {"label": label}, "time_on_task_ms": rng.randint(2000, 9000)},
                    format="json",
                ),
                201,
                "submit",
            )
            stats.answers += 1
            stats.per_contributor[user.username] = stats.per_contributor.get(user.username, 0) + 1
    return stats


def withdraw_all(user) -> dict | None:
    """Withdraw the contributor's whole balance; None if there is nothing to withdraw."""
    api = api_for(user)
    balance = api.get("/api/me/").data["balance"]
    if near_to_yocto(balance) == 0:
        return None
    return expect(api.post("/api/me/payouts", {"amount": balance}, format="json"), 201, "withdraw")


__all__ = ["yocto_to_near"]
