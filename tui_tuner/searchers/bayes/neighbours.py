"""The discrete moves of the acquisition's local search: every other choice of each active categorical and
the next value either side of each active int.

L-BFGS-B moves only numbers, and random candidates near the best trials rarely change a category, so without
these moves the search stays in the category its first trials favoured. Optuna's mixed optimiser
(optuna/_gp/optim_mixed.py) alternates the same two kinds of step.
"""

from __future__ import annotations

from ...space import CategoricalParam, Config, IntParam, SearchSpace


def discrete_neighbours(space: SearchSpace, config: Config) -> list[Config]:
    """Configs that differ from `config` in one categorical or int; params a new choice switches on start
    mid-range (where an inactive param is encoded), params it switches off are left out."""
    unit = space.to_unit(config)
    parents = {parent for p in space.params for parent in p.when or {}}
    out = []
    for i, param in enumerate(space.params):
        if param.name not in config:
            continue
        value = config[param.name]
        if isinstance(param, CategoricalParam):
            current = param.index_of(value)
            moves = [choice for j, choice in enumerate(param.choices) if j != current]
        elif isinstance(param, IntParam):
            step = param.step or 1
            moves = [v for v in (value - step, value + step) if param.low <= v <= param.high]
        else:
            continue
        if param.name not in parents:  # a move switches nothing on or off: no need to rebuild the config
            out.extend({**config, param.name: move} for move in moves)
            continue
        for move in moves:
            moved = unit.copy()
            moved[i] = param.to_unit(move)
            built = space.from_unit(moved)  # what the move switches on or off; the rest keep their exact values
            out.append({name: config.get(name, value) for name, value in built.items()} | {param.name: move})
    return out
