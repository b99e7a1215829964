import pytest

from payouts.money import AmountError, near_to_yocto, yocto_to_near


@pytest.mark.parametrize(
    ("text", "yocto"),
    [
        ("0", 0),
        ("0.05", 5 * 10**22),
        ("1", 10**24),
        ("1.000000000000000000000001", 10**24 + 1),
        ("0.000000000000000000000001", 1),
        ("123456789.5", 123456789 * 10**24 + 5 * 10**23),
    ],
)
def test_near_strings_convert_exactly_both_ways(text: str, yocto: int) -> None:
    """Decimal NEAR strings map to yocto integers and back without loss."""
    assert near_to_yocto(text) == yocto
    assert near_to_yocto(yocto_to_near(yocto)) == yocto


@pytest.mark.parametrize(
    "bad",
    [
        "-1",
        "1e3",
        "0.0000000000000000000000001",
        "1.",
        ".5",
        "abc",
        "",
        " ",
        "+1",
        "1,5",
        "NaN",
        "inf",
        "01",
    ],
)
def test_malformed_amounts_are_refused(bad: str) -> None:
    """Signs, exponents, more than 24 decimals and junk are refused, not rounded."""
    with pytest.raises(AmountError):
        near_to_yocto(bad)


@pytest.mark.parametrize("bad", [0.05, 1, None, ["1"]])
def test_non_strings_are_refused(bad: object) -> None:
    """Floats (and other JSON numbers) never become amounts."""
    with pytest.raises(AmountError):
        near_to_yocto(bad)  # type: ignore[arg-type]


def test_display_trims_trailing_zeros() -> None:
    assert yocto_to_near(5 * 10**22) == "0.05"
    assert yocto_to_near(2 * 10**24) == "2"
    assert yocto_to_near(-(10**24 + 1)) == "-1.000000000000000000000001"
