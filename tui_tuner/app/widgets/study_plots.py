"""The curves pane's plots that help decide where to search next: parameter importance bars, parallel
coordinates, a value grid over two params, and the Pareto front of two metrics.

Each `draw_*` takes a plotext figure and what it shows, draws it, and returns the legend pieces (markup) for
the line under the plot. Above a few hundred trials they draw a subsample and say so: plotext redraws every
series on the UI thread.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from ...analysis.importance import Importance
from ...progress import format_value
from ...space import CategoricalParam, SearchSpace
from ...storage import StudyLog, TrialRecord
from ...terminal import markup_escape

MAX_LINES = 80  # parallel coordinates: trials drawn (plotext's build: 31 ms for 80, 56 ms for 120)
MAX_DOTS = 2000  # front: dominated trials drawn
BEST_SHARE = 0.1  # parallel coordinates: the best tenth highlighted
GRID = (24, 12)  # contour cells across and up
MAX_CONTOUR = 2000  # contour: trials averaged (the cell means of a seeded sample; 10,000 took 30 ms a redraw)
HEAT = ("blue", "cyan", "green", "yellow", "red")  # contour colours, best value first
INACTIVE = -0.1  # where a conditional param sits on its axis when it does not apply


def signed(value: float, direction: str) -> float:
    """Smaller is better: the value, or minus it for a maximised metric."""
    return -value if direction == "maximize" else value


def first_direction(direction: str | list[str]) -> str:
    return direction[0] if isinstance(direction, list) else direction


def subsample(items: list, limit: int, seed: int = 0) -> list:
    """At most `limit` of `items`, the same ones each redraw (a fixed seed), in their order."""
    if len(items) <= limit:
        return items
    picks = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in picks]


def draw_importance(plt, result: Importance | None, metric: str, finished: int) -> list[str]:
    """Horizontal bars, one a param, the largest share at the top."""
    if result is None:
        plt.title(f"parameter importance: computing ({finished} finished trials)")
        return []
    if not result.importance:
        plt.title("parameter importance: not yet")
        return [f"[yellow]{result.note}[/]"] if result.note else []
    items = list(result.importance.items())[::-1]  # plotext draws the first bar at the bottom
    plt.bar([f"{name} {share:.0%}" for name, share in items], [share for _, share in items],
            orientation="horizontal", width=0.4, color="cyan")
    plt.xlim(0, 1)
    plt.title(f"importance for {metric}: share of variance (fANOVA, {result.trials} trials)")
    legend = []
    top = next(iter(result.importance))
    if top in result.sensitivity:  # where to look next: the leading param's best and worst region
        sens = result.sensitivity[top]
        legend.append(markup_escape(f"{top}: best {sens.best}, worst {sens.worst} (moves {metric} by "
                                    f"{format_value(sens.spread)})"))
    if result.near_best:
        top = ", ".join(f"{name} {share:.0%}" for name, share in list(result.near_best.items())[:3])
        legend.append(f"near the best: {top}")
    if result.note:
        legend.append(f"[dim]{markup_escape(result.note)}[/dim]")
    return legend


def unit(space: SearchSpace, name: str, params: dict) -> float:
    """A param's place on its axis in [0, 1] (log params on the log scale, categories evenly spaced)."""
    param = space[name]
    if name not in params or not space.is_active(param, params) or not param.accepts(params[name]):
        return INACTIVE
    return param.to_unit(params[name])


def axis_text(space: SearchSpace, name: str) -> str:
    """What 0 and 1 mean on a param's axis: its range, or its categories bottom to top."""
    param = space[name]
    if isinstance(param, CategoricalParam):
        return f"{name} {'|'.join(map(str, param.choices))}"
    return f"{name} {format_value(param.low)}..{format_value(param.high)}{' (log)' if param.log else ''}"


def value_range(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    return low, (high if high > low else low + 1.0)


def draw_parallel(plt, records: list[TrialRecord], space: SearchSpace, direction: str, metric: str) -> list[str]:
    """Each finished trial a line across its params' axes and the value's, the best tenth in colour."""
    records = [r for r in records if r.value is not None and math.isfinite(r.value)]
    names = [name for name in space.names]
    if not records or not names:
        plt.title("parallel coordinates: no finished trial yet")
        return []
    ranked = sorted(records, key=lambda r: (signed(r.value, direction), r.number))
    cut = max(1, math.ceil(len(ranked) * BEST_SHARE))
    best, rest = ranked[:cut], ranked[cut:]
    shown_best = subsample(best, MAX_LINES // 5)
    shown_rest = subsample(rest, MAX_LINES - len(shown_best))
    low, high = value_range([r.value for r in records])
    xs = list(range(len(names) + 1))
    for group, color in ((shown_rest, "gray"), (shown_best, "green")):
        path_x, path_y = [], []  # one series a colour, every other line drawn backwards: the step from one
        for k, r in enumerate(group):  # line to the next runs along the first or the last axis
            ys = [unit(space, name, r.params) for name in names] + [(r.value - low) / (high - low)]
            path_x += xs[::-1] if k % 2 else xs
            path_y += ys[::-1] if k % 2 else ys
        if path_x:
            plt.plot(path_x, path_y, color=color, marker="braille")
    plt.xticks(xs, [*names, metric])
    conditional = any(space[name].when for name in names)
    plt.ylim(INACTIVE if conditional else 0, 1)
    plt.yticks([0, 0.5, 1])
    shown = len(shown_best) + len(shown_rest)
    count = f"showing {shown:,} of {len(records):,}" if shown < len(records) else f"{len(records):,} trials"
    plt.title(f"parallel coordinates, {count}")  # short: plotext drops a title wider than the plot
    legend = [f"[green]━━[/] best {BEST_SHARE:.0%} by {markup_escape(metric)}", "[gray]━━[/] the rest",
              *(markup_escape(axis_text(space, name)) for name in names),
              markup_escape(f"{metric} {format_value(low)}..{format_value(high)}")]
    if conditional:
        legend.append(f"{INACTIVE:g}: param inactive")
    return legend


def draw_contour(plt, records: list[TrialRecord], space: SearchSpace, x: str, y: str, direction: str,
                 metric: str) -> list[str]:
    """The mean value of the finished trials in each cell of an x-by-y grid, coloured by fifths of the
    range (plotext has no contour): where the good region of two params lies."""
    finished = [r for r in records if r.value is not None and math.isfinite(r.value)]
    sample = subsample(finished, MAX_CONTOUR)
    points = [(unit(space, x, r.params), unit(space, y, r.params), r.value) for r in sample]
    points = [p for p in points if p[0] >= 0 and p[1] >= 0]
    if not points:
        plt.title(f"{metric} over {x} and {y}: no finished trial with both yet")
        return []
    cells: dict[tuple[int, int], list[float]] = {}
    for u, v, value in points:
        key = (min(int(u * GRID[0]), GRID[0] - 1), min(int(v * GRID[1]), GRID[1] - 1))
        cells.setdefault(key, []).append(value)
    means = {key: sum(values) / len(values) for key, values in cells.items()}
    low, high = value_range(list(means.values()))
    by_color: dict[int, tuple[list, list]] = {}
    for (i, j), mean in means.items():
        fifth = min(int((mean - low) / (high - low) * len(HEAT)), len(HEAT) - 1)
        rank = fifth if direction == "minimize" else len(HEAT) - 1 - fifth
        xs, ys = by_color.setdefault(rank, ([], []))
        xs.append((i + 0.5) / GRID[0])
        ys.append((j + 0.5) / GRID[1])
    for rank, (xs, ys) in sorted(by_color.items()):
        plt.scatter(xs, ys, marker="█", color=HEAT[rank])
    plt.xlim(0, 1)
    plt.ylim(0, 1)
    for axis, name in ((plt.xticks, x), (plt.yticks, y)):
        ticks = _ticks(space, name)
        axis([t for t, _ in ticks], [label for _, label in ticks])
    plt.xlabel(x)
    plt.ylabel(y)
    shown = f"a sample of {len(points):,} of {len(finished):,}" if len(sample) < len(finished) else f"{len(points):,}"
    plt.title(f"mean {metric} over {x} and {y}, {shown} trials")
    step = (high - low) / len(HEAT)
    bands = [(low + k * step, low + (k + 1) * step) for k in range(len(HEAT))]
    if direction != "minimize":
        bands.reverse()
    return [f"[{color}]█[/] {a:.3g}..{b:.3g}" for color, (a, b) in zip(HEAT, bands)] + [
        "(best to worst)", "c: next param across, C: next param up"]


def _ticks(space: SearchSpace, name: str) -> list[tuple[float, str]]:
    """Ticks of a unit axis labelled with the param's own values (categories at their codes)."""
    param = space[name]
    if isinstance(param, CategoricalParam):
        return [(param.to_unit(choice), str(choice)) for choice in param.choices]
    return [(u, format_value(param.from_unit(u))) for u in (0.0, 0.25, 0.5, 0.75, 1.0)]


def draw_front(plt, view: StudyLog | None, live_finished: int) -> list[str]:
    """The first two metrics of every finished trial, the Pareto front joined up, the balance's pick marked."""
    if view is None:
        plt.title(f"Pareto front: ranking {live_finished:,} finished trials")
        return []
    ranked = view.ranked()
    if not ranked:
        plt.title("Pareto front: no finished trial yet")
        return []
    a, b = view.metrics[:2]
    ranks = view.pareto_rank()
    front = sorted((r for r in ranked if ranks[r.number] == 1), key=lambda r: (r.values[0], r.values[1]))
    others = subsample([r for r in ranked if ranks[r.number] > 1], MAX_DOTS)
    if others:
        plt.scatter([r.values[0] for r in others], [r.values[1] for r in others], marker="dot", color="gray")
    if len(view.metrics) == 2:  # with more, the front's trials do not form a line in these two
        plt.plot([r.values[0] for r in front], [r.values[1] for r in front], marker="braille", color="green")
    plt.scatter([r.values[0] for r in front], [r.values[1] for r in front], marker="●", color="green")
    pick = view.best()
    if pick is not None:
        plt.scatter([pick.values[0]], [pick.values[1]], marker="x", color="red")
    plt.xlabel(f"{a} ({view.direction[0]})")
    plt.ylabel(f"{b} ({view.direction[1]})")
    dominated = sum(1 for r in ranked if ranks[r.number] > 1)
    plt.title(f"Pareto front of {a} and {b}: {len(front)} of {len(ranked):,} trials")
    shown = f" (showing {len(others):,} of {dominated:,})" if len(others) < dominated else ""
    legend = ["[green]━●[/] the front (rank 1)", f"[gray]•[/] dominated trials{shown}"]
    if pick is not None:
        values = ", ".join(f"{m} {format_value(v)}" for m, v in zip(view.metrics, pick.values))
        legend.append(f"[red]x[/] the balance's pick #{pick.number}: {markup_escape(values)}")
    if len(view.metrics) > 2:
        legend.append(f"ranked on all {len(view.metrics)} metrics; drawn: the first two")
    return legend
