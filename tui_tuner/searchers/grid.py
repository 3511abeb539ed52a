"""Grid search: every combination once, in order (or a seeded shuffle), skipping configs already run.

The grid is never listed: the searcher walks indices of the space's lazy `Grid`, and a shuffle is a seeded
bijection of those indices, so a grid of billions of points starts at once and costs no memory.
"""

from __future__ import annotations

import math
import random

from ..errors import InputError, SearchExhausted, SpaceError
from ..options import Flag, Option, Whole
from ..space import MAX_CHOICES, MAX_GRID, Config
from .base import Searcher


class ShuffledIndices:
    """A seeded permutation of range(n), computed one position at a time: a Feistel network over the
    smallest even power of two that holds n, cycle-walked back into range (a bijection, whatever n is)."""

    ROUNDS = 4

    def __init__(self, n: int, keys: list[int]) -> None:
        self.n = n
        self._half = max(1, ((n - 1).bit_length() + 1) // 2)
        self._mask = (1 << self._half) - 1
        self._keys = keys[: self.ROUNDS]

    def _round(self, key: int, right: int) -> int:
        return random.Random(key ^ (right << 64)).getrandbits(self._half)

    def _encrypt(self, x: int) -> int:
        left, right = x >> self._half, x & self._mask
        for key in self._keys:
            left, right = right, left ^ self._round(key, right)
        return (left << self._half) | right

    def __getitem__(self, position: int) -> int:
        index = self._encrypt(position)
        while index >= self.n:  # at most a few steps: the domain is under 4n
            index = self._encrypt(index)
        return index


class GridSearcher(Searcher):
    name = "grid"
    adaptive = False
    options = {
        "default_num": Option(5, Whole(2, MAX_CHOICES), "values taken on each number range that has no grid: list"),
        "shuffle": Option(False, Flag(), "walk the grid in a seeded random order instead of in order"),
    }

    def _configure(self, *, default_num: int, shuffle: bool) -> None:
        try:
            self._grid = self.space.grid(default_num)
        except SpaceError as err:
            raise InputError(err.message, field="search.strategy") from None
        if self._grid.size > MAX_GRID:
            raise InputError(f"grid search over {_points(self._grid.size)} points; at most 10**12: give the numbers "
                             "fewer values (num: or grid:), or use random", field="search.strategy")
        keys = [int(k) for k in self.rng.integers(0, 2**63, size=ShuffledIndices.ROUNDS)]
        self._order = ShuffledIndices(self._grid.size, keys) if shuffle else None
        self._next = 0
        self._seen: set[tuple] = set()

    @property
    def size(self) -> int:
        return self._grid.size

    def _ask(self) -> Config:
        while self._next < self._grid.size:
            position = self._next
            self._next += 1
            config = self._grid[self._order[position] if self._order else position]
            if self.space.key(config) not in self._seen:
                self._seen.add(self.space.key(config))
                return config
        raise SearchExhausted(f"all {self._grid.size} grid points have been suggested")

    def _on_told(self, config: Config, value: float | None) -> None:
        self._seen.add(self.space.key(config))


def _points(n: int) -> str:
    """A count as a person reads it: 15,625, or about 10**30 past a trillion (without printing 30 digits)."""
    if n <= MAX_GRID:
        return f"{n:,}"
    digits = int((n.bit_length() - 1) * math.log10(2))
    while 10 ** (digits + 1) <= n:
        digits += 1
    return f"about 10**{digits}"
