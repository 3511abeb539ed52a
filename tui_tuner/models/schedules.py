"""Learning-rate schedules: pure functions of the epoch, each the formula its name promises.

`learning_rate_at(name, epoch, lr=..., epochs=..., **settings)` is what the models call once an epoch;
the settings (`decay`, `rate`, `every`, ...) are the `lr_*` parameters of the estimators, so a study tunes
them like any other parameter. Epochs count from 0, and epoch 0 always trains at the start rate
(one-cycle and warmup excepted: they start low on purpose).
"""

from __future__ import annotations

import math


def constant(epoch: int, lr: float) -> float:
    return lr


def time_based(epoch: int, lr: float, decay: float) -> float:
    """lr_e = lr_{e-1} / (1 + decay * e), unrolled: lr_0 / prod_{k=1..e} (1 + decay * k)."""
    for k in range(1, epoch + 1):
        lr /= 1.0 + decay * k
    return lr


def step(epoch: int, lr: float, rate: float, every: int, start: int = 0) -> float:
    """lr_0 * rate ^ floor((e + 1 - start) / every): a drop every `every` epochs, none before `start`."""
    return lr * rate ** max(0, math.floor((epoch + 1 - start) / every))


def exponential(epoch: int, lr: float, decay: float | None = None, rate: float | None = None) -> float:
    """lr_0 * exp(-decay * e), or lr_0 * rate ^ e when a rate is given instead."""
    if rate is not None:
        return lr * rate ** epoch
    return lr * math.exp(-(decay or 0.0) * epoch)


def cosine(epoch: int, lr: float, epochs: int, warmup: int = 0, min_lr: float = 0.0) -> float:
    """Linear warmup over `warmup` epochs to lr, then half a cosine from lr down to min_lr at the last epoch."""
    if epoch < warmup:
        return lr * (epoch + 1) / (warmup + 1)
    span = max(1, epochs - 1 - warmup)
    progress = min(1.0, (epoch - warmup) / span)
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def cyclic(epoch: int, lr: float, min_lr: float, cycle: int, mode: str = "triangular", gamma: float = 1.0) -> float:
    """Smith's cyclical rates between min_lr and lr, `cycle` epochs up then `cycle` down (starting at lr).

    triangular keeps the amplitude, triangular2 halves it every cycle, exp_range scales it by gamma ^ e.
    """
    t = epoch + cycle  # start at the peak, so the first epochs train at the rate the study chose
    n = math.floor(1 + t / (2 * cycle))
    x = abs(t / cycle - 2 * n + 1)
    scale = {"triangular": 1.0, "triangular2": 1.0 / 2 ** (n - 1), "exp_range": gamma ** epoch}[mode]
    return min_lr + (lr - min_lr) * max(0.0, 1.0 - x) * scale


def one_cycle(epoch: int, lr: float, epochs: int, warmup: int | None = None, div: float = 25.0,
              final_div: float = 1e4) -> float:
    """Up from lr/div to lr over the warmup (default 30% of the epochs), then a cosine down to lr/final_div."""
    warmup = max(1, round(0.3 * epochs)) if warmup is None else warmup
    start, end = lr / div, lr / final_div
    if epoch < warmup:
        return start + (lr - start) * epoch / warmup
    span = max(1, epochs - 1 - warmup)
    progress = min(1.0, (epoch - warmup) / span)
    return end + 0.5 * (lr - end) * (1.0 + math.cos(math.pi * progress))


SCHEDULES = ("constant", "time_based", "step", "exponential", "cosine", "triangular", "triangular2",
             "exp_range", "one_cycle")


def learning_rate_at(name: str, epoch: int, *, lr: float, epochs: int, decay: float = 0.01,
                     rate: float | None = None, every: int = 10, start: int = 0, warmup: int = 0,
                     min_lr: float | None = None, cycle: int = 5, gamma: float = 0.95) -> float:
    """The rate for `epoch` under schedule `name`, with the estimators' `lr_*` settings (defaults here)."""
    if name == "constant":
        return constant(epoch, lr)
    if name == "time_based":
        return time_based(epoch, lr, decay)
    if name == "step":
        return step(epoch, lr, 0.5 if rate is None else rate, every, start)
    if name == "exponential":
        return exponential(epoch, lr, decay=decay, rate=rate)
    if name == "cosine":
        return cosine(epoch, lr, epochs, warmup, min_lr or 0.0)
    if name in ("triangular", "triangular2", "exp_range"):
        return cyclic(epoch, lr, lr / 10 if min_lr is None else min_lr, cycle, name, gamma)
    if name == "one_cycle":
        return one_cycle(epoch, lr, epochs, warmup or None)
    raise ValueError(f"unknown lr_schedule {name!r}; use one of {', '.join(SCHEDULES)}")
