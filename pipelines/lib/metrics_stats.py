"""The few statistics the metrics need: Wilson and Newcombe intervals, a two-proportion z."""

from __future__ import annotations

import math

Z_95 = 1.959963984540054  # the two-sided 95 % normal quantile


def rate(numerator: int, denominator: int) -> float | None:
    """A share, or None when there is nothing to divide by."""
    return numerator / denominator if denominator else None


def wilson(x: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval for x successes out of n (None when n is 0)."""
    if n <= 0:
        return None
    p = x / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, z: float = Z_95
                        ) -> tuple[float, float, float] | None:
    """p1 − p2 with Newcombe's hybrid score interval (his method 10, built from the two Wilson
    intervals (l1, u1) and (l2, u2)):
    L = d − √((p1 − l1)² + (u2 − p2)²), U = d + √((u1 − p1)² + (p2 − l2)²).
    Returns (difference, low, high), or None when either group is empty."""
    first, second = wilson(x1, n1, z), wilson(x2, n2, z)
    if first is None or second is None:
        return None
    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = first, second
    d = p1 - p2
    return (d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """The pooled two-proportion z of p1 − p2; None when it is undefined (an empty group, or
    a pooled rate of 0 or 1, where the two groups cannot differ)."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    return (x1 / n1 - x2 / n2) / math.sqrt(variance)
