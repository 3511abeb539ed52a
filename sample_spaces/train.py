"""A small training function tuned by python_objective.yaml: softmax regression on the digits, in numpy.

tui-tuner calls `objective(params, trial)` in a worker process; it reports each epoch (live curves,
pruning) and returns its validation metrics. `test` scores the final config once on the held-out split.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from tui_tuner import TrialPruned


def _data():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    X_fit, X_val, y_fit, y_val = train_test_split(X_train, y_train, test_size=0.25, random_state=0,
                                                  stratify=y_train)
    return (X_fit, y_fit), (X_val, y_val), (X_train, y_train), (X_test, y_test)


def _loss_and_accuracy(W, b, X, y, l2):
    logits = X @ W + b
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(len(y)), y].mean() + 0.5 * l2 * float((W * W).sum())
    return float(loss), float((log_p.argmax(axis=1) == y).mean())


def _train(params, X, y, seed, on_epoch=None):
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.01, (X.shape[1], 10))
    b = np.zeros(10)
    epochs, batch = int(params["epochs"]), int(params["batch_size"])
    lr0, l2 = params["learning_rate"], params["l2"]
    for epoch in range(epochs):
        lr = lr0 / (1 + params["decay"] * epoch)  # time-based decay
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            logits = X[idx] @ W + b
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(idx)), y[idx]] -= 1
            W -= lr * (X[idx].T @ p / len(idx) + l2 * W)
            b -= lr * p.mean(axis=0)
        if on_epoch:
            on_epoch(epoch, W, b, lr)
    return W, b


def objective(params, trial):
    (X, y), (X_val, y_val), _, _ = _data()

    def on_epoch(epoch, W, b, lr):
        loss, _ = _loss_and_accuracy(W, b, X, y, params["l2"])
        val_loss, val_acc = _loss_and_accuracy(W, b, X_val, y_val, 0.0)
        if not np.isfinite(loss):
            raise FloatingPointError(f"loss diverged at epoch {epoch}")
        trial.report(epoch, loss=loss, val_loss=val_loss, val_accuracy=val_acc, lr=lr)
        if trial.should_prune():
            raise TrialPruned()

    W, b = _train(params, X, y, trial.seed, on_epoch)
    val_loss, val_acc = _loss_and_accuracy(W, b, X_val, y_val, 0.0)
    return {"val_loss": val_loss, "val_accuracy": val_acc}


def test(params, trial):
    """Train on all tuning data with the final config, score once on the test split."""
    _, _, (X, y), (X_test, y_test) = _data()
    W, b = _train(params, X, y, trial.seed)
    test_loss, test_acc = _loss_and_accuracy(W, b, X_test, y_test, 0.0)
    return {"val_loss": test_loss, "val_accuracy": test_acc}
