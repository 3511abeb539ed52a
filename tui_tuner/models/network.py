"""A fully connected network in numpy: forward pass, losses and their gradients, nothing else.

Kept apart from the estimators so every gradient can be checked against finite differences in float64,
while training runs in float32. Hidden layers use He initialisation for relu/gelu and Glorot for
tanh/sigmoid; the output layer is linear, read through a softmax (classification) or as is (regression).
"""

from __future__ import annotations

import numpy as np

ACTIVATIONS = ("relu", "tanh", "gelu", "sigmoid")
GELU_C = np.sqrt(2.0 / np.pi)


def activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(z, 0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # the stable form: no exp overflow for large |z|
    if name == "gelu":  # the tanh approximation used by BERT and GPT-2
        return 0.5 * z * (1.0 + np.tanh(GELU_C * (z + 0.044715 * z ** 3)))
    raise ValueError(f"unknown activation {name!r}; use one of {', '.join(ACTIVATIONS)}")


def activation_grad(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """d activation / dz, given z and a = activate(z) (reused where the formula allows)."""
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "tanh":
        return 1.0 - a * a
    if name == "sigmoid":
        return a * (1.0 - a)
    u = GELU_C * (z + 0.044715 * z ** 3)
    t = np.tanh(u)
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * GELU_C * (1.0 + 3 * 0.044715 * z * z)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against one-hot targets, and its gradient w.r.t. the logits."""
    logp = log_softmax(logits)
    m = len(logits)
    loss = -float((targets * logp).sum()) / m
    return loss, (np.exp(logp) - targets) / m


def squared_error(outputs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Half the mean squared error over all outputs (scikit-learn's squared_error), and its gradient."""
    diff = outputs - targets
    loss = 0.5 * float((diff * diff).mean())
    return loss, diff / diff.size


LOSSES = {"cross_entropy": cross_entropy, "squared_error": squared_error}


class Network:
    """Weights and biases of an MLP (no hidden layer: a linear model), and one forward/backward pass."""

    def __init__(self, sizes: list[int], activation: str, loss: str, rng: np.random.Generator,
                 dtype: np.dtype = np.float32) -> None:
        self.activation = activation
        self.loss = LOSSES[loss]
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            if activation in ("relu", "gelu") and not last:
                w = rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out))  # He
            else:
                limit = np.sqrt(6.0 / (fan_in + fan_out))  # Glorot
                w = rng.uniform(-limit, limit, (fan_in, fan_out))
            self.weights.append(w.astype(dtype))
            self.biases.append(np.zeros(fan_out, dtype=dtype))

    @property
    def params(self) -> list[np.ndarray]:
        """Weights then biases; gradients come in the same order."""
        return [*self.weights, *self.biases]

    def forward(self, X: np.ndarray, dropout: float = 0.0, rng: np.random.Generator | None = None):
        """The raw outputs, and what backward needs: per layer (input, pre-activation, dropout mask)."""
        cache = []
        a = X
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = a @ w
            z += b
            if i == last:
                cache.append((a, None, None))
                return z, cache
            h = activate(self.activation, z)
            mask = None
            if dropout > 0 and rng is not None:
                mask = (rng.random(h.shape, dtype=h.dtype) >= dropout) / np.asarray(1 - dropout, h.dtype)
                h_out = h * mask
            else:
                h_out = h
            cache.append((a, z, (h, mask)))
            a = h_out
        return a, cache

    def loss_and_grads(self, X: np.ndarray, targets: np.ndarray, dropout: float = 0.0,
                       rng: np.random.Generator | None = None) -> tuple[float, list[np.ndarray]]:
        """The data loss of a batch and its gradient for every parameter (in `params` order)."""
        out, cache = self.forward(X, dropout, rng)
        loss, delta = self.loss(out, targets)
        n = len(self.weights)
        dw: list[np.ndarray] = [None] * n  # type: ignore[list-item]
        db: list[np.ndarray] = [None] * n  # type: ignore[list-item]
        for i in range(n - 1, -1, -1):
            a_in = cache[i][0]
            dw[i] = a_in.T @ delta
            db[i] = delta.sum(axis=0)
            if i == 0:
                break
            _, z, (h, mask) = cache[i - 1]
            grad = delta @ self.weights[i].T
            if mask is not None:
                grad *= mask
            grad *= activation_grad(self.activation, z, h)
            delta = grad
        return loss, [*dw, *db]

    def predict_raw(self, X: np.ndarray) -> np.ndarray:
        return self.forward(X)[0]
