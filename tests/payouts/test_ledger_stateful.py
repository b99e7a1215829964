"""Stateful property test of the double-entry ledger against a Python model of it.

Hypothesis runs random programs of deposits, earnings credits, payout requests,
confirmations, failures and repeated idempotency keys, with amounts up to 10**30
yoctoNEAR, through the real services (journal_post, earning_credit, payout_request,
payout_finish; never the chain). After every step the ledger must balance (each
journal and the trial balance sum to zero), no escrow, earnings or in-flight balance
may be negative, and every journal and balance must equal what the model expects.

The projects, users and accounts are created once per test; each example then runs
in its own rolled-back transaction (the machine opens the same atomic blocks a Django
TestCase opens around a test, so the services' durable atomic blocks nest inside it
as they do in any other test).
"""

import itertools
from dataclasses import dataclass

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count
from django.test import TestCase as DjangoTestCase
from django.utils import timezone
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from labeling.models import Project
from payouts.errors import InsufficientFundsError, PayoutTooSmallError
from payouts.fields import YoctoSum
from payouts.models import Journal, JournalLine, LedgerAccount, NearAccount, Payout
from payouts.money import near_to_yocto
from payouts.near.client import Outcome
from payouts.selectors import ledger_trial_balance
from payouts.services.earnings import earning_credit
from payouts.services.ledger import (
    earnings_account,
    escrow_account,
    in_flight_account,
    journal_post,
    platform_fees_account,
    world_account,
)
from payouts.services.payouts import payout_finish, payout_request
from tests.factories import ProjectFactory, UserFactory

MAX_AMOUNT = 10**30  # yoctoNEAR: a million NEAR, far past int64 and a double's 53 bits
PROJECTS = 2
USERS = 3
# Balances that must never go below zero (the world and the fee account may).
NON_NEGATIVE_KINDS = (
    LedgerAccount.Kind.ESCROW,
    LedgerAccount.Kind.EARNINGS,
    LedgerAccount.Kind.IN_FLIGHT,
)


def yocto(*, low: int = 1) -> st.SearchStrategy[int]:
    """Amounts from `low` to MAX_AMOUNT spread over every order of magnitude (plain
    st.integers over so wide a range mostly yields small numbers)."""
    return st.integers(min_value=len(str(low)) - 1, max_value=len(str(MAX_AMOUNT)) - 1).flatmap(
        lambda exponent: st.integers(
            min_value=max(low, 10**exponent), max_value=min(MAX_AMOUNT, 10 ** (exponent + 1) - 1)
        )
    )


amounts = yocto()
gas_amounts = st.one_of(st.just(0), yocto())  # 0: no network-fee journal


def amount_against(available: int, *, low: int = 1) -> st.SearchStrategy[int]:
    """Amounts to take out of a balance of `available`: a share of it, all of it, one
    more than it, or anything from `low` up to MAX_AMOUNT."""
    choices = []
    if available >= low:
        choices += [
            st.integers(min_value=1, max_value=1000).map(
                lambda per_mille: max(low, available * per_mille // 1000)
            ),
            st.just(available),
        ]
    choices += [st.just(max(available + 1, low)), yocto(low=low)]
    return st.one_of(choices)


@dataclass(frozen=True)
class Cast:
    """The projects, contributors and ledger accounts every example works with."""

    projects: list[Project]
    users: list[AbstractBaseUser]
    world: LedgerAccount
    fees: LedgerAccount
    in_flight: LedgerAccount
    escrows: list[LedgerAccount]
    earnings: list[LedgerAccount]


def cast_create() -> Cast:
    projects = [ProjectFactory() for _ in range(PROJECTS)]
    users = [UserFactory() for _ in range(USERS)]
    for user in users:
        NearAccount.objects.create(
            user=user, account_id=f"{user.username}.testnet", verified_at=timezone.now()
        )
    return Cast(
        projects=projects,
        users=users,
        world=world_account(),
        fees=platform_fees_account(),
        in_flight=in_flight_account(),
        escrows=[escrow_account(reference=p.escrow_reference) for p in projects],
        earnings=[earnings_account(user_id=user.pk) for user in users],
    )


class LedgerMachine(RuleBasedStateMachine):
    """One example: a program of ledger operations on `cast`, rolled back at the end."""

    open_payouts = Bundle("open_payouts")  # pks of submitted payouts, not yet final
    final_payouts = Bundle("final_payouts")  # pks of confirmed or failed payouts

    def __init__(self, cast: Cast) -> None:
        super().__init__()
        self.projects = cast.projects
        self.users = cast.users
        self.world = cast.world
        self.fees = cast.fees
        self.in_flight = cast.in_flight
        self.escrows = cast.escrows
        self.earnings = cast.earnings
        self.accounts = [self.world, self.fees, self.in_flight, *self.escrows, *self.earnings]
        self.min_payout = max(near_to_yocto(django_settings.MIN_PAYOUT_NEAR), 1)
        # The model: every account's balance, and every journal by idempotency key as
        # (kind, {account key: amount}).
        self.balances = {account.key: 0 for account in self.accounts}
        self.journals: dict[str, tuple[str, dict[str, int]]] = {}
        self.credited: list[str] = []  # earning references credited once
        self.serial = itertools.count()
        # The atomic blocks a Django TestCase opens around each test: rolled back in
        # teardown, and the services' durable blocks may nest in them.
        self._atomics = DjangoTestCase._enter_atomics()

    def teardown(self) -> None:
        DjangoTestCase._rollback_atomics(self._atomics)

    # --- the model ------------------------------------------------------------------

    def _expect(self, kind: str, key: str, lines: list[tuple[LedgerAccount, int]]) -> None:
        """Record a journal the ledger must now hold, and apply it to the balances."""
        assert key not in self.journals, f"the model booked {key} twice"
        by_account: dict[str, int] = {}
        for account, amount in lines:
            by_account[account.key] = by_account.get(account.key, 0) + amount
            self.balances[account.key] += amount
        self.journals[key] = (kind, {k: v for k, v in by_account.items() if v})

    def _written(self) -> tuple[int, int]:
        """How many journals and journal lines there are (in one query)."""
        counts = Journal.objects.aggregate(
            journals=Count("id", distinct=True), lines=Count("lines")
        )
        return counts["journals"], counts["lines"]

    # --- rules ------------------------------------------------------------------------

    def _deposit(self, project: int, amount: int) -> None:
        escrow = self.escrows[project]
        key = f"deposit:test:{next(self.serial)}"
        lines = [(self.world, -amount), (escrow, amount)]
        journal, created = journal_post(kind=Journal.Kind.DEPOSIT, idempotency_key=key, lines=lines)
        assert created
        assert journal.kind == Journal.Kind.DEPOSIT
        self._expect(Journal.Kind.DEPOSIT, key, lines)

    def _pick(
        self, data: st.DataObject, label: str, accounts: list[LedgerAccount], low: int
    ) -> int:
        """An index into `accounts`, among those holding at least `low` if there are any
        (else programs would mostly try to spend from empty balances)."""
        indexes = range(len(accounts))
        funded = [i for i in indexes if self.balances[accounts[i].key] >= low]
        return data.draw(st.sampled_from(funded or list(indexes)), label=label)

    def _two_accounts(self, data: st.DataObject) -> list[LedgerAccount]:
        return data.draw(
            st.lists(
                st.sampled_from(self.accounts), min_size=2, max_size=2, unique_by=lambda a: a.pk
            ),
            label="source, sink",
        )

    @initialize(
        funding=st.lists(yocto(low=10**25), min_size=PROJECTS, max_size=PROJECTS),
        shares=st.lists(st.integers(1, 1000), min_size=USERS, max_size=USERS),
    )
    def start(self, funding: list[int], shares: list[int]) -> None:
        """Funded projects and some earnings, so most programs reach payouts early."""
        for project, amount in enumerate(funding):
            self._deposit(project, amount)
        for user, per_mille in enumerate(shares):
            project = user % PROJECTS
            total = funding[project] * per_mille // 1000 // USERS
            self._credit(project=project, user=user, total=total, fee_bps=1000)

    @rule(project=st.integers(0, PROJECTS - 1), amount=amounts)
    def deposit(self, project: int, amount: int) -> None:
        self._deposit(project, amount)

    @rule(data=st.data(), user=st.integers(0, USERS - 1))
    def credit(self, data: st.DataObject, user: int) -> None:
        project = self._pick(data, "project", self.escrows, low=1)
        available = self.balances[self.escrows[project].key]
        total = data.draw(amount_against(available), label="reward + fee")
        fee_bps = data.draw(st.integers(min_value=0, max_value=10_000), label="fee_bps")
        self._credit(project=project, user=user, total=total, fee_bps=fee_bps)

    def _credit(self, *, project: int, user: int, total: int, fee_bps: int) -> None:
        """Credit `total` (reward plus a fee of `fee_bps` on top of it) from an escrow;
        refused, writing nothing, if the escrow holds less."""
        escrow = self.escrows[project]
        available = self.balances[escrow.key]
        reward = max(1, total * 10_000 // (10_000 + fee_bps))
        fee = total - reward
        reference = f"submission:{next(self.serial)}"
        call = {
            "reference": reference,
            "user_id": self.users[user].pk,
            "escrow_reference": self.projects[project].escrow_reference,
            "reward": reward,
            "fee": fee,
        }
        if total > available:
            before = self._written()
            with pytest.raises(InsufficientFundsError) as refused:
                earning_credit(**call)
            assert refused.value.code == "insufficient_funds"
            assert refused.value.extra["account"] == escrow.key
            assert int(refused.value.extra["balance"]) == available
            assert int(refused.value.extra["needed"]) == total
            assert self._written() == before
            assert not Journal.objects.filter(idempotency_key=f"earning:{reference}").exists()
            return
        assert earning_credit(**call) is True
        self._expect(
            Journal.Kind.EARNING,
            f"earning:{reference}",
            [(escrow, -total), (self.earnings[user], reward), (self.fees, fee)],
        )
        self.credited.append(reference)

    @rule(target=open_payouts, data=st.data())
    def request_payout(self, data: st.DataObject) -> int | MultipleResults:
        user = self._pick(data, "user", self.earnings, low=self.min_payout)
        earnings = self.earnings[user]
        available = self.balances[earnings.key]
        choices = [amount_against(available, low=self.min_payout)]
        if self.min_payout > 1:
            choices.append(st.integers(min_value=1, max_value=self.min_payout - 1))
        amount = data.draw(st.one_of(choices), label="amount")
        before = (self._written(), Payout.objects.count())
        if amount < self.min_payout:
            with pytest.raises(PayoutTooSmallError):
                payout_request(user=self.users[user], amount=amount)
            assert (self._written(), Payout.objects.count()) == before
            return multiple()
        if amount > available:
            with pytest.raises(InsufficientFundsError) as refused:
                payout_request(user=self.users[user], amount=amount)
            assert refused.value.extra["account"] == earnings.key
            assert (self._written(), Payout.objects.count()) == before
            return multiple()
        payout = payout_request(user=self.users[user], amount=amount)
        assert payout.status == Payout.Status.PENDING
        assert payout.amount == amount
        self._expect(
            Journal.Kind.PAYOUT,
            f"payout:{payout.public_id}",
            [(earnings, -amount), (self.in_flight, amount)],
        )
        # What signing and broadcasting would leave behind, without a chain.
        Payout.objects.filter(pk=payout.pk).update(
            status=Payout.Status.SUBMITTED, tx_hash=f"tx-{payout.public_id.hex}"
        )
        return payout.pk

    def _finish(self, payout_pk: int, *, succeeded: bool, gas: int) -> int:
        payout = Payout.objects.get(pk=payout_pk)
        user = next(i for i, u in enumerate(self.users) if u.pk == payout.user_id)
        outcome = Outcome(
            tx_hash=payout.tx_hash,
            succeeded=succeeded,
            failure=None if succeeded else {"ActionError": {"kind": {"Other": "test"}}},
            tokens_burnt=gas,
        )
        finished = payout_finish(payout, outcome)
        if succeeded:
            assert finished.status == Payout.Status.CONFIRMED
            self._expect(
                Journal.Kind.PAYOUT_CONFIRMED,
                f"payout:{payout.public_id}:confirmed",
                [(self.in_flight, -payout.amount), (self.world, payout.amount)],
            )
        else:
            assert finished.status == Payout.Status.FAILED
            self._expect(
                Journal.Kind.PAYOUT_FAILED,
                f"payout:{payout.public_id}:failed",
                [(self.in_flight, -payout.amount), (self.earnings[user], payout.amount)],
            )
        if gas:
            self._expect(
                Journal.Kind.NETWORK_FEE,
                f"gas:{payout.tx_hash}",
                [(self.fees, -gas), (self.world, gas)],
            )
        return payout_pk

    @rule(target=final_payouts, payout=consumes(open_payouts), gas=gas_amounts)
    def confirm_payout(self, payout: int, gas: int) -> int:
        return self._finish(payout, succeeded=True, gas=gas)

    @rule(target=final_payouts, payout=consumes(open_payouts), gas=gas_amounts)
    def fail_payout(self, payout: int, gas: int) -> int:
        return self._finish(payout, succeeded=False, gas=gas)

    @rule(payout=final_payouts, succeeded=st.booleans(), gas=gas_amounts)
    def finish_again(self, payout: int, succeeded: bool, gas: int) -> None:
        """A second final outcome for a finished payout (a retry, a late answer) is a no-op."""
        row = Payout.objects.get(pk=payout)
        before = self._written()
        outcome = Outcome(tx_hash=row.tx_hash, succeeded=succeeded, failure=None, tokens_burnt=gas)
        assert payout_finish(row, outcome).status == row.status
        assert Payout.objects.get(pk=payout).status == row.status
        assert self._written() == before

    @rule(data=st.data(), out=amounts, skew=st.integers(min_value=-(10**6), max_value=10**6))
    def post_unbalanced(self, data: st.DataObject, out: int, skew: int) -> None:
        """Lines that do not sum to zero are refused (ValueError) and write nothing."""
        source, sink = self._two_accounts(data)
        received = out + (skew or 1)
        before = self._written()
        with pytest.raises(ValueError, match="sum to zero"):
            journal_post(
                kind=Journal.Kind.DEPOSIT,
                idempotency_key=f"unbalanced:{next(self.serial)}",
                lines=[(source, -out), (sink, received)],
            )
        assert self._written() == before

    @precondition(lambda self: self.journals)
    @rule(
        data=st.data(),
        kind=st.sampled_from(Journal.Kind.values),
        amount=amounts,
    )
    def repeat_key(self, data: st.DataObject, kind: str, amount: int) -> None:
        """Any used key again, with any balanced lines (even an overdraft): nothing moves."""
        key = data.draw(st.sampled_from(sorted(self.journals)), label="idempotency_key")
        source, sink = self._two_accounts(data)
        before = self._written()
        journal, created = journal_post(
            kind=kind, idempotency_key=key, lines=[(source, -amount), (sink, amount)]
        )
        assert created is False
        assert journal.pk == Journal.objects.get(idempotency_key=key).pk
        assert journal.kind == self.journals[key][0]
        assert self._written() == before

    @precondition(lambda self: self.credited)
    @rule(
        data=st.data(),
        project=st.integers(0, PROJECTS - 1),
        user=st.integers(0, USERS - 1),
        reward=amounts,
        fee=amounts,
    )
    def repeat_credit(
        self, data: st.DataObject, project: int, user: int, reward: int, fee: int
    ) -> None:
        reference = data.draw(st.sampled_from(self.credited), label="reference")
        before = self._written()
        created = earning_credit(
            reference=reference,
            user_id=self.users[user].pk,
            escrow_reference=self.projects[project].escrow_reference,
            reward=reward,
            fee=fee,
        )
        assert created is False
        assert self._written() == before

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def every_journal_balances(self) -> None:
        """Each journal's lines, summed by the database grouped by journal, come to zero;
        and a journal has at least two lines (a journal with none shows as 0 here)."""
        rows = Journal.objects.values("pk", "idempotency_key").annotate(
            total=YoctoSum("lines__amount"), lines=Count("lines")
        )
        for row in rows:
            key = row["idempotency_key"]
            assert row["total"] == 0, f"journal {key} sums to {row['total']}"
            assert row["lines"] >= 2, f"journal {key} has {row['lines']} line(s)"

    @invariant()
    def journals_are_the_models(self) -> None:
        """Every journal holds the lines the model expects (every_journal_balances
        checks that no journal is without lines, so these are all the journals)."""
        found: dict[str, tuple[str, dict[str, int]]] = {}
        lines = JournalLine.objects.values_list(
            "journal__idempotency_key", "journal__kind", "account__key", "amount"
        )
        for key, kind, account, amount in lines:
            by_account = found.setdefault(key, (kind, {}))[1]
            by_account[account] = by_account.get(account, 0) + amount
        for key in sorted(found.keys() | self.journals.keys()):
            ledger, model = found.get(key), self.journals.get(key)
            assert ledger == model, f"journal {key}: the ledger has {ledger}, the model {model}"

    @invariant()
    def trial_balance_is_the_models(self) -> None:
        trial = ledger_trial_balance()
        assert sum(trial.values()) == 0
        assert all(type(total) is int for total in trial.values())
        assert {k: v for k, v in trial.items() if v} == {
            k: v for k, v in self.balances.items() if v
        }

    @invariant()
    def balances_never_negative(self) -> None:
        accounts = LedgerAccount.objects.filter(kind__in=NON_NEGATIVE_KINDS).annotate(
            balance=YoctoSum("lines__amount")
        )
        for account in accounts:
            assert account.balance >= 0, f"{account.key} is at {account.balance}"
            assert account.balance == self.balances[account.key], account.key

    @invariant()
    def in_flight_is_the_open_payouts(self) -> None:
        open_total = Payout.objects.filter(status__in=Payout.OPEN_STATUSES).aggregate(
            total=YoctoSum("amount")
        )["total"]
        assert self.balances[self.in_flight.key] == open_total


@pytest.mark.django_db
@pytest.mark.timeout(600)  # room for Hypothesis to finish shrinking a failure (<= 5 min)
def test_ledger_balances_and_matches_the_model() -> None:
    cast = cast_create()
    run_state_machine_as_test(
        lambda: LedgerMachine(cast),
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            # A failure should be reported in seconds, not minutes: shrink only the first
            # bug found, and skip the explain phase (it re-runs the program many times).
            report_multiple_bugs=False,
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        ),
    )
