"""Ledger, NEAR accounts, deposits, signing keys and payouts.

This app knows nothing of projects or labeling: it holds money under string
references (`escrow:<project uuid>`) that other apps choose.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from payouts.fields import YoctoField


class NearAccount(models.Model):
    """The NEAR account a user is paid to (contributors) or deposits from (requesters)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="near_account"
    )
    account_id = models.CharField(max_length=64, db_index=True)
    # Set once the user proved control of the account by a signature (NEP-413).
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # A proven account identifies one user: it is how "Sign in with NEAR" finds them.
            models.UniqueConstraint(
                fields=["account_id"],
                condition=Q(verified_at__isnull=False),
                name="near_account_verified_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.account_id


class AuthChallenge(models.Model):
    """A server nonce for one NEP-413 signature ("Sign in with NEAR", proving an account).

    Works once: `used_at` is set, under a row lock, in the transaction that acts on the
    signature. Anonymous clients create these; expired rows are worthless.
    """

    # Hex of the 32 random bytes the wallet signs (clients see base64 of the same bytes).
    nonce = models.CharField(max_length=64, unique=True)
    recipient = models.CharField(max_length=255)
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # The account whose signature used the challenge.
    account_id = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return self.nonce


class LedgerAccount(models.Model):
    """One account of the double-entry ledger. Its balance is the sum of its lines."""

    class Kind(models.TextChoices):
        ESCROW = "escrow", "Requester escrow"
        EARNINGS = "earnings", "Contributor earnings"
        IN_FLIGHT = "in_flight", "Payouts in flight"
        PLATFORM_FEES = "platform_fees", "Platform fees"
        WORLD = "world", "Outside world"

    # Only these may go below zero: the world is every other party's counterpart, and
    # the platform's fee account pays network gas out of its own capital.
    MAY_GO_NEGATIVE = frozenset({Kind.WORLD, Kind.PLATFORM_FEES})

    key = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


class Journal(models.Model):
    """One movement of money: two or more lines that sum to zero."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit credited to escrow"
        EARNING = "earning", "Accepted answer paid from escrow"
        PAYOUT = "payout", "Payout requested"
        PAYOUT_CONFIRMED = "payout_confirmed", "Payout confirmed on chain"
        PAYOUT_FAILED = "payout_failed", "Payout failed and refunded"
        NETWORK_FEE = "network_fee", "Gas burnt by a platform transaction"
        ESCROW_RELEASE = "escrow_release", "Unspent escrow returned to the requester"
        DATASET_SALE = "dataset_sale", "Dataset sold: price to the seller, fee, royalty pool"
        ROYALTY = "royalty", "A sale's royalty shared among the dataset's contributors"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Makes each movement happen once: "deposit:<tx hash>", "earning:<submission uuid>"…
    idempotency_key = models.CharField(max_length=200, unique=True)
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.idempotency_key}"


class JournalLine(models.Model):
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="lines")
    amount = YoctoField(signed=True)  # yoctoNEAR; positive adds to the account's balance

    class Meta:
        indexes = [models.Index(fields=["account", "journal"])]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount}"


class Deposit(models.Model):
    """A requester's NEAR transfer to the platform account, credited to an escrow once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for finality"
        CREDITED = "credited", "Credited"
        FAILED = "failed", "Failed on chain"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tx_hash = models.CharField(max_length=64, unique=True)  # one credit per transaction
    sender_account_id = models.CharField(max_length=64)
    amount = YoctoField()  # yoctoNEAR received by the platform account
    escrow = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="deposits")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposits"
    )
    # Set exactly when the deposit is credited (a constraint holds the two together).
    journal = models.OneToOneField(
        Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="deposit"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)  # last look at the chain
    # The client's Idempotency-Key (config.idempotency), written with the row (and the
    # credit, when final): a retry finds what the first request made.
    idempotency_key = models.CharField(max_length=255, blank=True)  # "": none
    request_fingerprint = models.CharField(max_length=64, blank=True)  # sha256 hex

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status="credited", journal__isnull=False)
                | (~Q(status="credited") & Q(journal__isnull=True)),
                name="deposit_journal_iff_credited",
            ),
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="deposit_unique_user_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return self.tx_hash


class SigningKey(models.Model):
    """A full-access key of the platform account and its nonce allocator.

    Only the public key lives here; the private key is read from the key file named
    in the environment, never from the database.
    """

    account_id = models.CharField(max_length=64)
    public_key = models.CharField(max_length=100, unique=True)  # "ed25519:<base58>"
    # The last nonce handed out; None until seeded from the chain's view_access_key.
    nonce = models.BigIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.public_key


class Payout(models.Model):
    """A NEAR transfer of a contributor's earnings. See DESIGN.md's state machine."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SIGNED = "signed", "Signed"
        SUBMITTED = "submitted", "Submitted"
        CONFIRMED = "confirmed", "Confirmed"
        FAILED = "failed", "Failed"

    OPEN_STATUSES = (Status.PENDING, Status.SIGNED, Status.SUBMITTED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts"
    )
    receiver_id = models.CharField(max_length=64)
    amount = YoctoField()  # yoctoNEAR sent to receiver_id
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    signing_key = models.ForeignKey(
        SigningKey, null=True, blank=True, on_delete=models.PROTECT, related_name="payouts"
    )
    nonce = models.BigIntegerField(null=True, blank=True)
    block_hash = models.CharField(max_length=64, blank=True)
    block_height = models.BigIntegerField(null=True, blank=True)
    tx_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    signed_tx = models.BinaryField(null=True, blank=True)  # the exact bytes broadcast
    attempts = models.PositiveIntegerField(default=0)  # broadcasts and status checks
    signatures = models.PositiveIntegerField(default=0)  # > 1 only after a proven expiry
    last_error = models.CharField(max_length=500, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    gas_burnt = YoctoField(null=True, blank=True)  # yoctoNEAR burnt for this transfer
    created_at = models.DateTimeField(auto_now_add=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The client's Idempotency-Key (config.idempotency), written in the transaction
    # that debits the balance: one payout per user and key, whatever crashes or races.
    idempotency_key = models.CharField(max_length=255, blank=True)  # "": none
    request_fingerprint = models.CharField(max_length=64, blank=True)  # sha256 hex

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="payout_unique_user_idempotency_key",
            ),
            models.UniqueConstraint(
                fields=["signing_key", "nonce"],
                condition=Q(nonce__isnull=False),
                name="payout_unique_key_nonce",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status}"


class PayoutEvent(models.Model):
    """An append-only record of every state change of a payout."""

    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    detail = models.CharField(max_length=500, blank=True)
    tx_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"
