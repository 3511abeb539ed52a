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


def check_strategy(name: Any, options: dict[str, Any]) -> None:
    """InputError for an unknown strategy or an option it does not have (`search.name`, `search.space` ...)."""
    if not isinstance(name, str) or name not in SEARCHERS:
        raise InputError(f"unknown strategy {name!r}; choose one of {', '.join(sorted(SEARCHERS))}",
                         field="search.strategy")
    SEARCHERS[name].check_options(options)


def make_searcher(name: str, space: SearchSpace, /, *, seed: int | None = None, direction: str = "minimize",
                  **options: Any) -> Searcher:
    """The strategy called `name` over `space`; unknown names and options are user mistakes (InputError).

    `name` and `space` are positional-only, so options called `name` or `space` are refused, not confused."""
    check_strategy(name, options)
    return SEARCHERS[name](space, seed=seed, direction=direction, **options)


__all__ = ["Searcher", "SEARCHERS", "register", "check_strategy", "make_searcher", "GridSearcher", "RandomSearcher", "BayesSearcher", "GeneticSearcher"]
