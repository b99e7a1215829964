"""The royalty split is exact: largest remainder, to the yoctoNEAR."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.services.royalties import royalty_split

amounts = st.integers(min_value=0, max_value=10**30)
weights = st.dictionaries(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=1, max_value=10**6),
    max_size=40,
)


@given(amount=amounts, weights=weights)
def test_the_parts_sum_exactly_and_each_is_within_one_yocto_of_its_share(amount, weights) -> None:
    parts = royalty_split(amount=amount, weights=weights)
    if not weights:
        assert parts == []
        return
    assert sum(part for _, part in parts) == amount
    total = sum(weights.values())
    got = dict(parts)
    for key, weight in weights.items():
        exact = Fraction(amount * weight, total)
        assert abs(got.get(key, 0) - exact) < 1


@given(amount=amounts, weights=weights)
def test_the_split_is_deterministic_and_sorted(amount, weights) -> None:
    parts = royalty_split(amount=amount, weights=weights)
    reordered = dict(sorted(weights.items(), reverse=True))
    assert royalty_split(amount=amount, weights=reordered) == parts
    assert [key for key, _ in parts] == sorted(key for key, _ in parts)
    assert all(part > 0 for _, part in parts)


def test_ties_go_to_the_smaller_id() -> None:
    assert royalty_split(amount=2, weights={7: 1, 3: 1, 5: 1}) == [(3, 1), (5, 1)]
    assert royalty_split(amount=10, weights={1: 3, 2: 2, 3: 1}) == [(1, 5), (2, 3), (3, 2)]


@pytest.mark.parametrize(("amount", "weights"), [(-1, {1: 1}), (5, {1: 0}), (5, {1: -2})])
def test_nonsense_is_refused(amount, weights) -> None:
    with pytest.raises(ValueError, match=r"negative|positive"):
        royalty_split(amount=amount, weights=weights)
