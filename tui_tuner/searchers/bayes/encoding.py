"""Configs as GP inputs: one unit-cube column per number (log scale where the param is log), one-hot
columns per categorical. An inactive conditional number sits at 0.5 and an inactive categorical is all
zeros; the one-hot of the parent that switches them off is what tells such configs apart."""

from __future__ import annotations

import numpy as np

from ...space import CategoricalParam, Config, SearchSpace


class Encoder:
    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.columns: dict[str, slice] = {}
        start = 0
        for p in space.params:
            width = len(p.choices) if isinstance(p, CategoricalParam) else 1
            self.columns[p.name] = slice(start, start + width)
            start += width
        self.dim = start
        # the length scale of each column: one a param, so a categorical's one-hot columns share one and the
        # kernel sees how many categoricals differ, not which choices (an overlap kernel)
        self.groups = np.repeat(np.arange(len(space.params)), [s.stop - s.start for s in self.columns.values()])

    def encode(self, config: Config) -> np.ndarray:
        x = np.zeros(self.dim)
        for p in self.space.params:
            cols = self.columns[p.name]
            if isinstance(p, CategoricalParam):
                if p.name in config:
                    x[cols.start + p.index_of(config[p.name])] = 1.0
            else:
                x[cols.start] = p.to_unit(config[p.name]) if p.name in config else 0.5
        return x

    def encode_many(self, configs: list[Config]) -> np.ndarray:
        return np.array([self.encode(c) for c in configs]).reshape(len(configs), self.dim)

    def numeric_columns(self, config: Config) -> list[tuple[str, int]]:
        """(name, column) of the numbers active in `config`: what a local optimiser may move."""
        return [(p.name, self.columns[p.name].start) for p in self.space.params
                if not isinstance(p, CategoricalParam) and p.name in config]

    def with_numbers(self, config: Config, x: np.ndarray) -> Config:
        """`config` with its active numbers read from columns of `x`, snapped to ints and steps."""
        out = dict(config)
        for name, col in self.numeric_columns(config):
            out[name] = self.space[name].from_unit(float(x[col]))
        return out
