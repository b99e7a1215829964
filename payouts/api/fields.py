"""DRF field for NEAR amounts: decimal strings in, decimal strings out, yocto ints inside."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payouts.money import NEAR_AMOUNT_PATTERN, AmountError, near_to_yocto, yocto_to_near
from payouts.near.keys import ACCOUNT_ID_MAX_LEN, ACCOUNT_ID_MIN_LEN, ACCOUNT_ID_RE


@extend_schema_field(
    {
        "type": "string",
        "pattern": NEAR_AMOUNT_PATTERN,
        "example": "0.05",
        "description": "NEAR as a decimal string (numbers are refused): up to 24 decimals.",
    }
)
class NearAmountField(serializers.Field[int, Any, str, Any]):
    """Reads "0.05" (a JSON string; numbers are refused) as yoctoNEAR; writes it back."""

    default_error_messages = {"invalid": "{message}"}

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str):
            self.fail("invalid", message='Amounts are JSON strings of NEAR, such as "0.05".')
        try:
            return near_to_yocto(data)
        except AmountError as exc:
            self.fail("invalid", message=str(exc))
        raise AssertionError("unreachable")

    def to_representation(self, value: int) -> str:
        return yocto_to_near(int(value))


# The same amounts without zero ("0", "0.000"): a reward, a withdrawal.
POSITIVE_NEAR_AMOUNT_PATTERN = r"^(?!0(?:\.0+)?$)" + NEAR_AMOUNT_PATTERN.removeprefix("^")


@extend_schema_field(
    {
        "type": "string",
        "pattern": POSITIVE_NEAR_AMOUNT_PATTERN,
        "example": "0.05",
        "description": "NEAR as a decimal string, more than zero: up to 24 decimals.",
    }
)
class PositiveNearAmountField(NearAmountField):
    """A NEAR amount that must be more than zero."""

    def to_internal_value(self, data: Any) -> int:
        value = super().to_internal_value(data)
        if value <= 0:
            self.fail("invalid", message="The amount must be more than zero.")
        return value


@extend_schema_field(
    {
        "type": "string",
        "minLength": ACCOUNT_ID_MIN_LEN,
        "maxLength": ACCOUNT_ID_MAX_LEN,
        "pattern": f"^{ACCOUNT_ID_RE.pattern}$",
        "description": "A NEAR account id: alice.near, or a 64-character implicit account.",
    }
)
class NearAccountIdField(serializers.CharField):
    """A NEAR account id as text; the service checks it (with a code of its own)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", ACCOUNT_ID_MAX_LEN)
        super().__init__(**kwargs)
