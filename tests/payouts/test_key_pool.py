"""A pool of the platform account's full-access keys: parallel senders, one nonce line each."""

import contextlib
import json
import stat
import threading
from collections import Counter, defaultdict
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from payouts.models import NearAccount, Payout, SigningKey
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate, key_load, key_save
from payouts.services.accounts import near_account_link
from payouts.services.chain import (
    PlatformKeyError,
    platform_key_files,
    platform_keys,
    signing_keys_sync,
)
from payouts.services.earnings import earning_credit
from payouts.services.payouts import (
    PayoutOutcomeUnknownError,
    payout_request,
    payout_send,
    payouts_reconcile,
    signing,
)
from payouts.services.payouts import request as payout_request_module
from tests.conftest import PLATFORM_ACCOUNT
from tests.factories import ProjectFactory, UserFactory, escrow_fund

ONE = near_to_yocto("1")


@pytest.fixture
def pool_dir(chain, tmp_path: Path, settings, monkeypatch) -> Path:
    """NEAR_KEYS_DIR of this test (empty, not created yet), next to the chain's state.

    Payouts are sent only when a test says so: no send task on commit, no automatic
    payout of a credited balance.
    """
    directory = tmp_path / "keys"
    settings.NEAR_KEYS_DIR = str(directory)
    settings.AUTO_PAYOUT_NEAR = ""
    monkeypatch.setattr(payout_request_module, "enqueue_on_commit", lambda task, *args: None)
    return directory


def _keys_add(count: int) -> str:
    out = StringIO()
    call_command("near_keys", "add", "--count", str(count), stdout=out)
    return out.getvalue()


def _earners(count: int) -> list:
    """`count` contributors with 1 NEAR of earnings each and a (verified) implicit account."""
    project = ProjectFactory()
    escrow_fund(project, amount=count * ONE, key="pool")
    users = []
    for n in range(count):
        user = UserFactory()
        near_account_link(user=user, account_id=key_generate().account_id)
        NearAccount.objects.filter(user=user).update(verified_at=timezone.now())
        earning_credit(
            reference=f"pool:{user.pk}",
            user_id=user.pk,
            escrow_reference=project.escrow_reference,
            reward=ONE,
            fee=0,
        )
        users.append(user)
        assert n == len(users) - 1
    return users


def _settle(payout_ids: list[int]) -> None:
    """Reconcile until no payout is open (bounded)."""
    for _ in range(10):
        if not Payout.objects.filter(pk__in=payout_ids, status__in=Payout.OPEN_STATUSES).exists():
            return
        payouts_reconcile(older_than_seconds=0)
    open_ = Payout.objects.filter(pk__in=payout_ids, status__in=Payout.OPEN_STATUSES)
    raise AssertionError(f"still open: {list(open_.values('pk', 'status', 'last_error'))}")


def _assert_nonces_per_key(chain) -> dict[str, int]:
    """Every confirmed payout landed once, signed by its key with its nonce; each key's
    nonces strictly increase in signing order and never repeat; the allocator and the
    chain agree on each key's last nonce. Returns payouts per key."""
    payouts = list(
        Payout.objects.filter(status=Payout.Status.CONFIRMED)
        .select_related("signing_key")
        .order_by("signed_at", "pk")
    )
    by_key: dict[str, list[int]] = defaultdict(list)
    for payout in payouts:
        tx = chain.client.tx_status(tx_hash=payout.tx_hash, sender_account_id=PLATFORM_ACCOUNT)
        assert tx["transaction"]["public_key"] == payout.signing_key.public_key
        assert int(tx["transaction"]["nonce"]) == payout.nonce
        by_key[payout.signing_key.public_key].append(payout.nonce)
    transfers = [
        t
        for t in chain.client.sandbox("sandbox_transfers", {})
        if t["signer_id"] == PLATFORM_ACCOUNT
    ]
    landed = Counter(t["receiver_id"] for t in transfers if t["succeeded"])
    assert landed == Counter(p.receiver_id for p in payouts), "a payout landed twice or never"
    for public_key, nonces in by_key.items():
        assert nonces == sorted(set(nonces)), f"{public_key}: nonces {nonces}"
        row = SigningKey.objects.get(public_key=public_key)
        on_chain = chain.client.view_access_key(account_id=PLATFORM_ACCOUNT, public_key=public_key)
        assert row.nonce == int(on_chain["nonce"]) == nonces[-1]
    return {public_key: len(nonces) for public_key, nonces in by_key.items()}


def test_near_keys_add_registers_keys_on_the_local_chain(pool_dir, chain, db) -> None:
    output = _keys_add(3)

    files = sorted(pool_dir.glob("*.json"))
    assert len(files) == 3
    keys = [key_load(f) for f in files]
    for file, key in zip(files, keys, strict=True):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert key.account_id == PLATFORM_ACCOUNT
        assert key.public_key in output
        access = chain.client.view_access_key(
            account_id=PLATFORM_ACCOUNT, public_key=key.public_key
        )
        assert access["permission"] == "FullAccess"
    assert "registered on the local chain" in output
    configured = platform_keys()
    assert next(iter(configured)) == chain.platform_key.public_key  # NEAR_PRIVATE_KEY_FILE first
    assert set(configured) == {chain.platform_key.public_key, *(k.public_key for k in keys)}
    assert {platform_key_files()[k.public_key] for k in keys} == {str(f) for f in files}

    listing = StringIO()
    call_command("near_keys", "list", "--chain", stdout=listing)
    for key in [chain.platform_key, *keys]:
        assert key.public_key in listing.getvalue()
    assert "4 active key(s)" in listing.getvalue()
    assert "not registered" not in listing.getvalue()
    for text in (output, listing.getvalue()):
        for file in [*files, chain.key_file]:
            secret = json.loads(file.read_text())["private_key"]
            assert secret not in text
            assert secret.removeprefix("ed25519:") not in text


def test_off_the_local_chain_add_prints_what_to_register_and_never_the_secret(
    pool_dir, chain, db, settings
) -> None:
    settings.NEAR_IS_LOCALNET = False  # as on mainnet: the command must not register itself
    output = _keys_add(1)

    (file,) = pool_dir.glob("*.json")
    key = key_load(file)
    secret = json.loads(file.read_text())["private_key"]
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert f"near account add-key {PLATFORM_ACCOUNT} grant-full-access" in output
    assert key.public_key in output
    assert secret not in output
    assert secret.removeprefix("ed25519:") not in output
    assert "not registered" in _list_output(chain=True)

    # Until it is registered, payouts skip the new key rather than stall on it.
    (user,) = _earners(1)
    payout = payout_send(payout_id=payout_request(user=user, amount=ONE).pk)
    assert payout.status == Payout.Status.CONFIRMED
    assert payout.signing_key.public_key == chain.platform_key.public_key


def _list_output(*, chain: bool = False) -> str:
    out = StringIO()
    call_command("near_keys", "list", *(["--chain"] if chain else []), stdout=out)
    return out.getvalue()


def test_payouts_spread_over_the_pool_fewest_open_first(pool_dir, chain, db) -> None:
    _keys_add(3)
    users = _earners(8)
    payouts = [payout_request(user=user, amount=ONE) for user in users]
    for payout in payouts:
        signing.payout_sign(payout)  # signed, not sent: each stays open

    per_key = Counter(
        Payout.objects.filter(pk__in=[p.pk for p in payouts]).values_list(
            "signing_key__public_key", flat=True
        )
    )
    assert sorted(per_key.values()) == [2, 2, 2, 2]
    assert set(per_key) == set(platform_keys())

    _settle([p.pk for p in payouts])
    assert _assert_nonces_per_key(chain) == dict(per_key)


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_use_several_keys_with_increasing_nonces(pool_dir, chain) -> None:
    _keys_add(3)
    users = _earners(16)
    ids = [payout_request(user=user, amount=ONE).pk for user in users]
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def sender(share: list[int]) -> None:
        try:
            start.wait()
            for payout_id in share:
                # Unknown outcome (a later nonce of the same key got there first): settled below.
                with contextlib.suppress(PayoutOutcomeUnknownError):
                    payout_send(payout_id=payout_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(ids[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    _settle(ids)
    per_key = _assert_nonces_per_key(chain)
    assert sum(per_key.values()) == 16
    assert len(per_key) >= 2, f"all payouts on one key: {per_key}"


def test_pool_key_of_another_account_is_refused(pool_dir, chain, db) -> None:
    _keys_add(1)
    stray = key_generate(account_id="someone-else.localnet")
    stray_file = pool_dir / "stray.json"
    key_save(stray, stray_file)
    secret = stray.secret_key_reveal()

    with pytest.raises(PlatformKeyError) as refused:
        platform_keys()
    message = str(refused.value)
    assert str(stray_file) in message
    assert "someone-else.localnet" in message
    assert secret not in message
    assert secret.removeprefix("ed25519:") not in message

    (user,) = _earners(1)
    payout = payout_request(user=user, amount=ONE)
    with pytest.raises(PlatformKeyError):
        payout_send(payout_id=payout.pk)
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.PENDING
    with pytest.raises(CommandError, match=r"stray\.json"):
        _list_output()

    stray_file.unlink()  # the listing changed: read again, and the payout goes out
    assert len(platform_keys()) == 2
    assert payout_send(payout_id=payout.pk).status == Payout.Status.CONFIRMED


def test_key_whose_file_disappeared_is_skipped(pool_dir, chain, db) -> None:
    _keys_add(2)
    users = _earners(5)
    first = payout_send(payout_id=payout_request(user=users[0], amount=ONE).pk)
    assert first.status == Payout.Status.CONFIRMED
    assert SigningKey.objects.filter(is_active=True).count() == 3

    gone_file = sorted(pool_dir.glob("*.json"))[0]
    gone = key_load(gone_file).public_key
    gone_file.unlink()
    for user in users[1:]:
        signing.payout_sign(payout_request(user=user, amount=ONE))
    assert not SigningKey.objects.get(public_key=gone).is_active
    assert not Payout.objects.filter(signing_key__public_key=gone, nonce__isnull=False).exclude(
        pk=first.pk
    )
    assert "(file gone)" in _list_output()
    _settle(list(Payout.objects.values_list("pk", flat=True)))
    _assert_nonces_per_key(chain)


def test_pick_is_one_counting_query_and_breaks_ties_at_random(
    pool_dir, chain, db, django_assert_max_num_queries
) -> None:
    _keys_add(7)
    for row in signing_keys_sync():  # seed every allocator (a first use asks the chain once)
        signing.signing_key_seed(row)
    assert SigningKey.objects.filter(nonce__isnull=True).count() == 0

    # Steady state: the sync's SELECT and one annotated query, however many keys.
    with django_assert_max_num_queries(2):
        signing.signing_key_pick()
    # No open payouts anywhere: every key ties, and concurrent senders must not all
    # land on the same one.
    picked = Counter(signing.signing_key_pick().public_key for _ in range(64))
    assert len(picked) >= 4, picked
