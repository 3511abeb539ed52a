"""`genetic`: a steady-state genetic algorithm, so parallel workers never wait for a generation to end.

The population is the best `population` finished trials so far (elitism: a good config stays until better
ones push it out). Until it is full, asks are a scrambled Sobol start. Then each ask breeds one child. With
one metric, numbers take an evolution-strategy step from halfway between the best trial and the weighted
mean of the better half: a Gaussian shaped by the population's covariance around that mean (shrunk toward a
sphere), its length self-adapted by the 1/5th success rule and widened again when it collapses; categories
come from two tournament parents. With several metrics (NSGA-II) the whole child is bred: crossover in the
unit cube (uniform, or blend for numbers), then mutation fitted to each type (a Gaussian step that shrinks
as the study goes on for numbers, a fresh draw for categories). Configs already run or running are not bred again.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import qmc

from ..analysis.pareto import rank_and_crowding
from ..options import Number, OneOf, Option, Whole
from ..space import CategoricalParam, Config
from .base import Searcher

CROSSOVERS = ("uniform", "blend")
BLEND_ALPHA = 0.3  # BLX-alpha: children may land a little outside the segment between the parents
TARGET_SUCCESS = 0.2  # the 1/5th success rule: grow the step after a new best, shrink it a quarter as fast after others
SUCCESS_GROWTH = 0.8  # log of the growth after a success, before damping by the dimension
SHRINK = 0.25  # a sphere's share of the step's shape: a population smaller than the dimension still moves every way
COLLAPSED = 1e-4  # a step this short in the unit cube has closed in on one point: widen it again


class GeneticSearcher(Searcher):
    name = "genetic"
    options = {
        "population": Option(None, Whole(2), "the best finished trials that breed (auto: 2 x dimensions + 4, 8 to 20)"),
        "tournament": Option(3, Whole(1), "members drawn to pick each parent: more is greedier"),
        "crossover": Option("blend", OneOf(CROSSOVERS),
                            "blend: numbers between (or a little past) the parents; uniform: each from either"),
        "mutation": Option(None, Number(0, 1), "the chance each param mutates (auto: 1 / dimensions)"),
        "step": Option(0.15, Number(0, 1),
                       "the first step in the unit cube; it adapts to the successes (several metrics: it shrinks)"),
    }

    def _configure(self, *, population: int | None, tournament: int, crossover: str, mutation: float | None,
                   step: float) -> None:
        d = len(self.space)
        self.population_size = population or min(20, max(8, 2 * d + 4))  # a default that fits the dimension
        self.tournament = tournament
        self.crossover = crossover
        self.mutation = mutation or 1.0 / d
        self.step = step
        self._categorical = np.array([isinstance(p, CategoricalParam) for p in self.space.params])
        self._sobol = qmc.Sobol(d, scramble=True, seed=self.rng)
        self._tried: set[tuple] = set()
        self._scale = step
        self._damping = 1.0 + d / 10

    @property
    def population(self) -> list[tuple[Config, float]]:
        """The best finished trials, best first: the parents of the next children."""
        if self.multi:
            done = [(c, v) for c, v in self.history if v is not None]  # the rows of finished_points()
            return [done[i] for i in rank_and_crowding(self.finished_points()[1])[: self.population_size]]
        done = sorted(((c, v) for c, v in self.history if v is not None), key=lambda cv: self.sign() * cv[1])
        return done[: self.population_size]

    def _ask(self) -> Config:
        population = self.population
        breed = self._child if self.multi else self._es_child
        for _ in range(20):
            if len(population) < self.population_size:
                config = self.space.from_unit(self._sobol.random(1)[0])
            else:
                config = self.space.from_unit(breed(population))
            key = self.space.key(config)
            if key not in self._tried:
                break
        self._tried.add(key)
        return config

    def _on_told(self, config: Config, value: float | None) -> None:
        self._tried.add(self.space.key(config))
        if self.multi or value is None:
            return
        population = self.population
        if len(population) < self.population_size:
            return
        success = population[0][0] is config  # a new best: the step may grow
        change = SUCCESS_GROWTH if success else -SUCCESS_GROWTH * TARGET_SUCCESS / (1 - TARGET_SUCCESS)
        self._scale *= math.exp(change / self._damping)
        if self._scale < COLLAPSED:
            self._scale = self.step

    def _es_child(self, population: list[tuple[Config, float]]) -> np.ndarray:
        """An evolution-strategy child: numbers a step from halfway between the best trial and the log-weighted
        mean of the better half (greedy, yet not stuck on one point), shaped like the population around that
        mean (a light CMA) and as long as the self-adapted scale; categories bred."""
        child = self._child(population)
        numeric = ~self._categorical
        d = int(numeric.sum())
        if d == 0:
            return child
        units = np.array([self.space.to_unit(c) for c, _ in population])[:, numeric]
        mu = max(1, len(units) // 2)
        weights = np.log(mu + 0.5) - np.log(np.arange(1, mu + 1))
        mean = weights / weights.sum() @ units[:mu]
        spread = units - mean
        shape = spread.T @ spread / len(units)
        shape = (1 - SHRINK) * shape + SHRINK * np.trace(shape) / d * np.eye(d)
        shape /= max(np.trace(shape) / d, 1e-300)  # the shape only: the scale sets the length
        root = np.linalg.cholesky(shape + 1e-12 * np.eye(d))
        child[numeric] = (units[0] + mean) / 2 + self._scale * root @ self.rng.standard_normal(d)
        return np.clip(child, 0.0, 1.0)

    def _pick(self, population: list[tuple[Config, float]]) -> np.ndarray:
        """Tournament selection: the best of `tournament` members drawn at random (the list is best-first)."""
        entrants = self.rng.choice(len(population), size=min(self.tournament, len(population)), replace=False)
        return self.space.to_unit(population[int(entrants.min())][0])

    def _child(self, population: list[tuple[Config, float]]) -> np.ndarray:
        a, b = self._pick(population), self._pick(population)
        d = len(a)
        take_b = self.rng.random(d) < 0.5
        if self.crossover == "uniform":
            child = np.where(take_b, b, a)
        else:
            gamma = self.rng.uniform(-BLEND_ALPHA, 1 + BLEND_ALPHA, d)
            child = np.where(self._categorical, np.where(take_b, b, a), a + gamma * (b - a))
        mutate = self.rng.random(d) < self.mutation
        generation = len(self.history) / self.population_size
        sigma = max(0.01, self.step * 0.85 ** generation)  # the step shrinks as the search narrows
        child = np.where(mutate & ~self._categorical, child + self.rng.normal(0, sigma, d), child)
        child = np.where(mutate & self._categorical, self.rng.random(d), child)  # categories: drawn afresh
        return np.clip(child, 0.0, 1.0)
