"""Strategies behind one ask/tell API; `make_searcher` picks one by the name a study file uses."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..space import SearchSpace
from .base import Searcher
from .bayes import BayesSearcher
from .genetic import GeneticSearcher
from .grid import GridSearcher
from .random import RandomSearcher

SEARCHERS: dict[str, type[Searcher]] = {}


def register(cls: type[Searcher]) -> type[Searcher]:
    """Make a strategy available to `make_searcher` and study files under `cls.name`."""
    SEARCHERS[cls.name] = cls
    return cls


register(GridSearcher)
register(RandomSearcher)
register(BayesSearcher)
register(GeneticSearcher)


def make_searcher(name: str, space: SearchSpace, *, seed: int | None = None, direction: str = "minimize",
                  **options: Any) -> Searcher:
    """The strategy called `name` over `space`; unknown names and options are user mistakes (InputError)."""
    if name not in SEARCHERS:
        raise InputError(f"unknown strategy {name!r}; choose one of {', '.join(sorted(SEARCHERS))}",
                         field="search.strategy")
    return SEARCHERS[name](space, seed=seed, direction=direction, **options)


__all__ = ["Searcher", "SEARCHERS", "register", "make_searcher", "GridSearcher", "RandomSearcher", "BayesSearcher", "GeneticSearcher"]
