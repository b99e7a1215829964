"""Exact conversion between decimal NEAR strings and integer yoctoNEAR."""

import re

YOCTO_PER_NEAR = 10**24
NEAR_DECIMALS = 24
# A NEAR amount as the API takes it: at most 15 whole digits (an amount field holds less
# than 10**39 yoctoNEAR), at most 24 decimals. The OpenAPI schema publishes the same pattern.
NEAR_AMOUNT_PATTERN = r"^(0|[1-9][0-9]{0,14})(?:\.([0-9]{1,24}))?$"
_NEAR_RE = re.compile(NEAR_AMOUNT_PATTERN)


class AmountError(ValueError):
    """A NEAR amount that is not a plain, non-negative decimal with at most 24 places."""


def near_to_yocto(value: str) -> int:
    """ "0.05" -> 50000000000000000000000. Refuses floats, exponents, signs and >24 places."""
    if not isinstance(value, str):
        raise AmountError('Amounts are decimal strings of NEAR, such as "0.05".')
    match = _NEAR_RE.match(value.strip())
    if match is None:
        raise AmountError(
            "Not a NEAR amount: use a non-negative decimal string with at most 24 "
            'decimals, such as "0.05".'
        )
    whole, fraction = match.group(1), match.group(2) or ""
    return int(whole) * YOCTO_PER_NEAR + int(fraction.ljust(NEAR_DECIMALS, "0"))


def yocto_to_near(value: int) -> str:
    """50000000000000000000000 -> "0.05": exact, without trailing zeros."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), YOCTO_PER_NEAR)
    if not fraction:
        return f"{sign}{whole}"
    return f"{sign}{whole}." + str(fraction).rjust(NEAR_DECIMALS, "0").rstrip("0")
