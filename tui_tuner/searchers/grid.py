"""Grid search: every combination once, in order (or a seeded shuffle), skipping configs already run."""

from __future__ import annotations

from ..errors import InputError, SearchExhausted
from ..space import Config
from .base import Searcher


class GridSearcher(Searcher):
    name = "grid"
    adaptive = False
    options = {"default_num": 5, "shuffle": False}

    def _configure(self, *, default_num: int, shuffle: bool) -> None:
        if not isinstance(default_num, int) or isinstance(default_num, bool) or default_num < 2:
            raise InputError(f"must be an integer >= 2, got {default_num!r}", field="search.default_num")
        if not isinstance(shuffle, bool):
            raise InputError(f"must be true or false, got {shuffle!r}", field="search.shuffle")
        self._grid = self.space.grid(default_num)
        if shuffle:
            self._grid = [self._grid[i] for i in self.rng.permutation(len(self._grid))]
        self._next = 0
        self._seen: set[tuple] = set()

    @property
    def size(self) -> int:
        return len(self._grid)

    def _ask(self) -> Config:
        while self._next < len(self._grid):
            config = self._grid[self._next]
            self._next += 1
            if self.space.key(config) not in self._seen:
                self._seen.add(self.space.key(config))
                return config
        raise SearchExhausted(f"all {len(self._grid)} grid points have been suggested")

    def tell(self, config: Config, value: float | None) -> None:
        super().tell(config, value)
        self._seen.add(self.space.key(self.history[-1][0]))
