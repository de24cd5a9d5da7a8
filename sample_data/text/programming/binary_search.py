"""Binary search over a sorted list.

Binary search finds an item in a sorted sequence by repeatedly halving the range that could contain
it. Each comparison discards half of the remaining candidates, so a list of a million items needs at
most twenty comparisons, where a linear scan might need a million.
"""

from __future__ import annotations

from collections.abc import Sequence


def binary_search(items: Sequence[int], target: int) -> int:
    """Return the index of target in the sorted sequence items, or -1 if it is absent."""
    low, high = 0, len(items) - 1
    while low <= high:
        middle = (low + high) // 2
        if items[middle] == target:
            return middle
        if items[middle] < target:
            low = middle + 1  # the target can only be in the upper half
        else:
            high = middle - 1  # the target can only be in the lower half
    return -1


def insertion_point(items: Sequence[int], target: int) -> int:
    """Return the leftmost index at which target could be inserted while keeping items sorted."""
    low, high = 0, len(items)
    while low < high:
        middle = (low + high) // 2
        if items[middle] < target:
            low = middle + 1
        else:
            high = middle
    return low


if __name__ == "__main__":
    primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    print(binary_search(primes, 13))  # 5
    print(binary_search(primes, 4))  # -1
    print(insertion_point(primes, 4))  # 2
