"""Sharing a sale's royalty among a snapshot's contributors, to the yoctoNEAR."""


def royalty_split(*, amount: int, weights: dict[int, int]) -> list[tuple[int, int]]:
    """Split `amount` yoctoNEAR among `weights` (contributor id -> accepted answers) in
    proportion, exactly: the largest-remainder (Hamilton) method.

    Each contributor first gets the floor of their exact share; the yoctoNEAR left
    (fewer than the number of contributors) go one each to the largest remainders,
    ties to the smaller id. So the parts sum to `amount` exactly, each is within one
    yoctoNEAR of its exact share, and the result (sorted by id, zero parts left out)
    depends on nothing but the arguments. No weights: an empty list (the caller says
    where the amount goes then).
    """
    if amount < 0:
        raise ValueError("a royalty is not negative")
    if any(weight <= 0 for weight in weights.values()):
        raise ValueError("weights are positive")
    total = sum(weights.values())
    if not total:
        return []
    ordered = sorted(weights.items())
    parts = {key: amount * weight // total for key, weight in ordered}
    left = amount - sum(parts.values())
    # Remainders of the exact shares, as numerators over `total`: largest first, then id.
    by_remainder = sorted(ordered, key=lambda kv: (-(amount * kv[1] % total), kv[0]))
    for key, _ in by_remainder[:left]:
        parts[key] += 1
    return [(key, part) for key, part in sorted(parts.items()) if part]
