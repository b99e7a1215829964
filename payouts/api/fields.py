"""DRF field for NEAR amounts: decimal strings in, decimal strings out, yocto ints inside."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payouts.money import AmountError, near_to_yocto, yocto_to_near


@extend_schema_field(OpenApiTypes.STR)
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
