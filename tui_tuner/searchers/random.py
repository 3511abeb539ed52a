"""Random search: independent draws (log-uniform on log scales), or a scrambled Sobol sequence that covers
the space more evenly for the same budget."""

from __future__ import annotations

from scipy.stats import qmc

from ..options import Flag, Option
from ..space import Config
from .base import Searcher


class RandomSearcher(Searcher):
    name = "random"
    adaptive = False
    options = {"sobol": Option(False, Flag(), "a scrambled Sobol sequence: covers the space more evenly than draws")}

    def _configure(self, *, sobol: bool) -> None:
        self._sobol = qmc.Sobol(d=len(self.space), scramble=True, seed=self.rng) if sobol else None

    def _ask(self) -> Config:
        if self._sobol is None:
            return self.space.sample(self.rng)
        return self.space.from_unit(self._sobol.random(1)[0])
