from typing import TypeVar

from django.conf import settings
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from payouts.models import (
    Deposit,
    Journal,
    JournalLine,
    LedgerAccount,
    NearAccount,
    Payout,
    PayoutEvent,
    SigningKey,
)
from payouts.money import yocto_to_near

_M = TypeVar("_M", bound=Model)


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    """Money rows change only through services; the admin shows them."""

    def has_add_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False


class PayoutEventInline(admin.TabularInline[PayoutEvent, Payout]):
    model = PayoutEvent
    extra = 0
    can_delete = False
    # Tuples: one sequence is both (a list would have to fit both attributes' list types).
    fields = readonly_fields = ("created_at", "from_status", "to_status", "tx_hash", "detail")


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin[Payout]):
    list_display = [
        "public_id",
        "user",
        "receiver_id",
        "amount_near",
        "status",
        "tx_link",
        "nonce",
        "attempts",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["public_id", "receiver_id", "tx_hash"]
    # signed_tx is deliberately absent: bytes are not for humans, and never a key.
    fields = readonly_fields = (
        "public_id",
        "user",
        "receiver_id",
        "status",
        "signing_key",
        "nonce",
        "block_hash",
        "block_height",
        "tx_hash",
        "attempts",
        "signatures",
        "last_error",
        "failure_reason",
        "gas_burnt",
        "created_at",
        "signed_at",
        "submitted_at",
        "finished_at",
    )
    inlines = [PayoutEventInline]
    actions = ["reconcile_selected"]

    def has_reconcile_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payouts.change_payout")

    @admin.action(
        description="Settle selected payouts with the chain (resolve, re-broadcast, send)",
        permissions=["reconcile"],
    )
    def reconcile_selected(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        """Calls the same services as the periodic reconciliation; safe at any time."""
        from payouts.services.payouts import payouts_settle

        open_ids = list(
            queryset.filter(status__in=Payout.OPEN_STATUSES).values_list("pk", flat=True)
        )
        outcomes = payouts_settle(payout_ids=open_ids)
        summary = ", ".join(f"{count} {state}" for state, count in sorted(outcomes.items()))
        self.message_user(request, f"Settled: {summary or 'nothing open among the selection'}.")

    @admin.display(description="amount (NEAR)")
    def amount_near(self, payout: Payout) -> str:
        return yocto_to_near(payout.amount)

    @admin.display(description="transaction")
    def tx_link(self, payout: Payout) -> str:
        if not payout.tx_hash:
            return "-"
        if settings.NEAR_EXPLORER_TX_URL:
            url = settings.NEAR_EXPLORER_TX_URL.rstrip("/") + "/" + payout.tx_hash
            return format_html('<a href="{}">{}</a>', url, payout.tx_hash[:12])
        return payout.tx_hash[:12]


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin[Deposit]):
    list_display = ["tx_hash", "sender_account_id", "escrow", "created_at"]
    search_fields = ["tx_hash", "sender_account_id"]


class JournalLineInline(admin.TabularInline[JournalLine, Journal]):
    model = JournalLine
    extra = 0
    can_delete = False
    readonly_fields = ["account", "amount"]


@admin.register(Journal)
class JournalAdmin(ReadOnlyAdmin[Journal]):
    list_display = ["created_at", "kind", "idempotency_key", "memo"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key"]
    inlines = [JournalLineInline]


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin[LedgerAccount]):
    list_display = ["key", "kind", "user", "created_at"]
    list_filter = ["kind"]
    search_fields = ["key"]


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin[SigningKey]):
    list_display = ["public_key", "account_id", "nonce", "is_active"]


@admin.register(NearAccount)
class NearAccountAdmin(ReadOnlyAdmin[NearAccount]):
    """Accounts change only through a signed proof (payouts.services.accounts)."""

    list_display = ["account_id", "user", "verified_at"]
    search_fields = ["account_id", "user__username"]
