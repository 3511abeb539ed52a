"""Gradient-descent optimizers that update a list of numpy arrays in place.

Each takes the learning rate at every step (the schedule owns it). `weight_decay` is an L2 penalty added to
the gradient of the weights for all of them except adamw, which decays the weights directly (decoupled,
Loshchilov & Hutter); biases are never decayed.
"""

from __future__ import annotations

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw")


class Optimizer:
    def __init__(self, name: str, params: list[np.ndarray], decayed: list[bool], *, weight_decay: float = 0.0,
                 momentum: float = 0.9, rho: float = 0.9, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8) -> None:
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}")
        self.name = name
        self.decayed = decayed
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.rho = rho
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.m = [np.zeros_like(p) for p in params]  # velocity / first moment / squared-gradient sum
        self.v = [np.zeros_like(p) for p in params] if name in ("rmsprop", "adam", "adamw") else None

    def step(self, params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        self.t += 1
        wd = self.weight_decay
        coupled = wd > 0 and self.name != "adamw"
        if self.name in ("adam", "adamw"):  # bias corrections folded into the step size
            step_size = lr * np.sqrt(1 - self.beta_2 ** self.t) / (1 - self.beta_1 ** self.t)
        for i, (p, g) in enumerate(zip(params, grads)):
            if coupled and self.decayed[i]:
                g = g + wd * p
            m = self.m[i]
            if self.name == "sgd":
                p -= lr * g
            elif self.name == "momentum":
                m *= self.momentum
                m -= lr * g
                p += m
            elif self.name == "nesterov":  # the look-ahead form used by Keras and scikit-learn
                m *= self.momentum
                m -= lr * g
                p += self.momentum * m - lr * g
            elif self.name == "adagrad":
                m += g * g
                p -= lr * g / (np.sqrt(m) + self.epsilon)
            elif self.name == "rmsprop":
                v = self.v[i]
                v *= self.rho
                v += (1 - self.rho) * (g * g)
                p -= lr * g / (np.sqrt(v) + self.epsilon)
            else:
                v = self.v[i]
                m *= self.beta_1
                m += (1 - self.beta_1) * g
                v *= self.beta_2
                v += (1 - self.beta_2) * (g * g)
                if self.name == "adamw" and wd > 0 and self.decayed[i]:
                    p *= 1 - lr * wd
                p -= step_size * m / (np.sqrt(v) + self.epsilon)
