"""MLPClassifier, MLPRegressor and SoftmaxRegression: numpy networks whose every training knob is a parameter.

scikit-learn compatible (`clone`, pipelines, `GridSearchCV`): `__init__` only stores its arguments, `fit`
checks them and learns, fitted attributes end in `_`. The constructor arguments are named like study-file
params (`learning_rate`, `lr_schedule`, `lr_decay`, ...), so a study tunes them directly. `fit` takes an
optional validation set and a per-epoch callback, which is how a trial reports live curves and gets pruned.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from .network import ACTIVATIONS, Network
from .optimizers import OPTIMIZERS, Optimizer
from .schedules import SCHEDULES, learning_rate_at


class DivergedError(ValueError):
    """The training loss became infinite or NaN: almost always a learning rate too high."""


def _store(estimator, arguments: dict) -> None:
    """Keep every constructor argument as an attribute of the same name, nothing else (scikit-learn's rule
    for `__init__`: `get_params`, `clone` and `GridSearchCV` read them back by name)."""
    for name, value in arguments.items():
        if name != "self":
            setattr(estimator, name, value)


class _Trainer(BaseEstimator):
    """The training loop shared by the three estimators; subclasses say what the output layer means."""

    _loss = "cross_entropy"
    _score_name = "val_accuracy"

    # -------------------------------------------------------------------------------------- checking

    def _check_params(self) -> None:
        name = type(self).__name__

        def fail(param: str, expected: str) -> None:
            raise ValueError(f"The {param!r} parameter of {name} must be {expected}. "
                             f"Got {getattr(self, param)!r} instead.")

        def number(param: str, low: float, high: float = math.inf, *, whole: bool = False,
                   open_low: bool = False, open_high: bool = False) -> None:
            value = getattr(self, param)
            ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            ok = ok and (not whole or float(value).is_integer())
            ok = ok and (value > low if open_low else value >= low) and (value < high if open_high else value <= high)
            if not ok:
                kind = "an int" if whole else "a float"
                fail(param, f"{kind} in the range {'(' if open_low else '['}{low}, {high}"
                            f"{')' if open_high or high == math.inf else ']'}")

        for param, options in self._choices().items():
            if getattr(self, param) not in options:
                fail(param, f"one of {', '.join(map(repr, options))}")
        number("learning_rate", 0, open_low=True)
        number("batch_size", 1, whole=True)
        number("epochs", 1, whole=True)
        number("weight_decay", 0)
        number("patience", 1, whole=True)
        number("tol", 0)
        number("validation_fraction", 0, 1, open_low=True, open_high=True)
        number("momentum", 0, 1, open_high=True)
        number("lr_decay", 0)
        number("lr_every", 1, whole=True)
        number("lr_cycle", 1, whole=True)
        number("lr_start", 0, whole=True)
        number("lr_warmup", 0, whole=True)
        number("lr_gamma", 0, 1, open_low=True)
        if self.lr_rate is not None:
            number("lr_rate", 0, open_low=True)
        if self.lr_min is not None:
            number("lr_min", 0)
        if hasattr(self, "dropout"):
            number("dropout", 0, 1, open_high=True)
            number("hidden_layers", 0, whole=True)
            units = self.hidden_units
            if isinstance(units, (list, tuple)):
                if not units or not all(isinstance(u, (int, np.integer)) and u >= 1 for u in units):
                    fail("hidden_units", "an int or a list of ints, each at least 1")
            else:
                number("hidden_units", 1, whole=True)

    def _choices(self) -> dict:
        choices = {"optimizer": OPTIMIZERS, "lr_schedule": SCHEDULES, "dtype": ("float32", "float64")}
        if hasattr(self, "activation"):
            choices["activation"] = ACTIVATIONS
        return choices

    def _layer_sizes(self, n_in: int, n_out: int) -> list[int]:
        if not hasattr(self, "hidden_units"):
            return [n_in, n_out]
        units = self.hidden_units
        hidden = list(units) if isinstance(units, (list, tuple)) else [int(units)] * int(self.hidden_layers)
        return [n_in, *map(int, hidden), n_out]

    def _learning_rate(self, epoch: int) -> float:
        return learning_rate_at(self.lr_schedule, epoch, lr=float(self.learning_rate), epochs=int(self.epochs),
                                decay=self.lr_decay, rate=self.lr_rate, every=int(self.lr_every),
                                start=int(self.lr_start), warmup=int(self.lr_warmup), min_lr=self.lr_min,
                                cycle=int(self.lr_cycle), gamma=self.lr_gamma)

    # -------------------------------------------------------------------------------------- training

    def _start(self, X, y) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
        """Check params and data, build the network and optimizer; returns (X, targets, rng)."""
        self._check_params()
        X, y = check_X_y(X, y, multi_output=self._loss == "squared_error", y_numeric=self._loss == "squared_error",
                         dtype=[np.float64, np.float32])
        dtype = np.dtype(self.dtype)
        X = X.astype(dtype, copy=False)
        self._learn_outputs(y)
        targets = self._targets(y).astype(dtype, copy=False)
        self.n_features_in_ = X.shape[1]
        rng = np.random.default_rng(self.random_state)
        activation = getattr(self, "activation", "relu")
        self.network_ = Network(self._layer_sizes(X.shape[1], targets.shape[1]), activation, self._loss, rng, dtype)
        params = self.network_.params
        decayed = [True] * len(self.network_.weights) + [False] * len(self.network_.biases)
        self._optimizer = Optimizer(self.optimizer, params, decayed, weight_decay=self.weight_decay,
                                    momentum=self.momentum, rho=self.rho, beta_1=self.beta_1, beta_2=self.beta_2,
                                    epsilon=self.epsilon)
        return X, targets, rng

    def fit(self, X, y, *, validation: tuple | None = None, callback=None):
        """Train for `epochs` epochs. `validation=(X_val, y_val)` adds val_loss and a val score to each
        epoch's metrics (with early_stopping and none given, `validation_fraction` of X is held out);
        `callback(epoch, metrics)` is called after every epoch and may raise to stop training."""
        X, targets, rng = self._start(X, y)
        if validation is None and self.early_stopping:
            X, targets, validation = self._hold_out(X, targets, rng)
        elif validation is not None:
            X_val, y_val = validation
            X_val = check_array(X_val, dtype=[np.float64, np.float32]).astype(X.dtype, copy=False)
            validation = (X_val, self._targets(np.asarray(y_val)).astype(X.dtype, copy=False))
        dropout = float(getattr(self, "dropout", 0.0))
        batch = min(int(self.batch_size), len(X))
        network, optimizer = self.network_, self._optimizer
        params = network.params
        self.history_: list[dict] = []
        best_loss, best_params, waited = math.inf, None, 0
        self.best_epoch_ = None
        for epoch in range(int(self.epochs)):
            lr = self._learning_rate(epoch)
            order = rng.permutation(len(X))
            total = 0.0
            with np.errstate(over="ignore", invalid="ignore"):
                for start in range(0, len(X), batch):
                    index = order[start:start + batch]
                    loss, grads = network.loss_and_grads(X[index], targets[index], dropout, rng)
                    optimizer.step(params, grads, lr)
                    total += loss * len(index)
            metrics = {"loss": total / len(X), "lr": lr}
            if not math.isfinite(metrics["loss"]):
                raise DivergedError(f"training diverged at epoch {epoch} (loss is {metrics['loss']}) with "
                                    f"learning_rate={self.learning_rate}: lower the learning rate")
            if validation is not None:
                metrics.update(self._evaluate(*validation))
                if metrics["val_loss"] < best_loss - self.tol:
                    best_loss, waited, self.best_epoch_ = metrics["val_loss"], 0, epoch
                    if self.early_stopping:
                        best_params = [p.copy() for p in params]
                else:
                    waited += 1
            self.history_.append({"epoch": epoch, **metrics})
            if callback is not None:
                callback(epoch, metrics)
            if self.early_stopping and waited >= self.patience:
                break
        if self.early_stopping and best_params is not None:
            for p, best in zip(params, best_params):
                p[...] = best  # restore the weights of the best validation epoch
        self.n_epochs_ = len(self.history_)
        self.loss_curve_ = [h["loss"] for h in self.history_]
        return self

    def _hold_out(self, X, targets, rng):
        n_val = max(1, int(round(self.validation_fraction * len(X))))
        order = rng.permutation(len(X))
        val, train = order[:n_val], order[n_val:]
        return X[train], targets[train], (X[val], targets[val])

    def _evaluate(self, X_val: np.ndarray, targets_val: np.ndarray) -> dict:
        with np.errstate(over="ignore", invalid="ignore"):
            out = self.network_.predict_raw(X_val)
            loss, _ = self.network_.loss(out, targets_val)
        return {"val_loss": loss, self._score_name: self._score_of(out, targets_val)}

    def _raw(self, X) -> np.ndarray:
        check_is_fitted(self, "network_")
        # in double precision whatever `dtype` trained: float32 sums depend on how BLAS blocks a batch, and a
        # row's prediction must not depend on the rows predicted with it
        X = check_array(X, dtype=[np.float64, np.float32]).astype(np.float64, copy=False)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        return self.network_.predict_raw(X)

    # ---------------------------------------------------------------------------------- LR range test

    def lr_range_test(self, X, y, *, start: float = 1e-7, end: float = 10.0, steps: int | None = None,
                      smoothing: float = 0.98) -> tuple[np.ndarray, np.ndarray]:
        """Train with a rate rising exponentially from `start` to `end` over `steps` batches (default: one
        epoch, at least 100), one rate a batch; stop once the smoothed loss passes 4x its minimum.
        Returns (rates, smoothed losses) of the batches run. The estimator is left trained, not useful."""
        X, targets, rng = self._start(X, y)
        batch = min(int(self.batch_size), len(X))
        steps = int(steps or max(100, math.ceil(len(X) / batch)))
        rates = start * (end / start) ** (np.arange(steps) / max(1, steps - 1))
        params = self.network_.params
        seen, avg, best = [], 0.0, math.inf
        order = rng.permutation(len(X))
        position = 0
        with np.errstate(over="ignore", invalid="ignore"):
            for i, lr in enumerate(rates):
                if position + batch > len(X):
                    order, position = rng.permutation(len(X)), 0
                index = order[position:position + batch]
                position += batch
                loss, grads = self.network_.loss_and_grads(X[index], targets[index])
                if not math.isfinite(loss):
                    break
                avg = smoothing * avg + (1 - smoothing) * loss
                smoothed = avg / (1 - smoothing ** (i + 1))  # bias-corrected, as in fastai
                seen.append(smoothed)
                best = min(best, smoothed)
                if i > 0 and smoothed > 4 * best:
                    break
                self._optimizer.step(params, grads, float(lr))
        return rates[:len(seen)], np.asarray(seen)


_COMMON_DOC = """
    Training: `optimizer` (sgd, momentum, nesterov, rmsprop, adagrad, adam, adamw) with `momentum` (momentum,
    nesterov), `rho` (rmsprop), `beta_1`, `beta_2`, `epsilon` (adam, adamw); `learning_rate` and `lr_schedule`
    (constant, time_based, step, exponential, cosine, triangular, triangular2, exp_range, one_cycle) with
    `lr_decay` (time_based, exponential), `lr_rate` (step's drop factor; exponential's per-epoch factor when
    set), `lr_every`, `lr_start` (step), `lr_warmup` (cosine, one_cycle), `lr_min` (cosine's floor, the cyclic
    schedules' trough, default learning_rate / 10), `lr_cycle` (epochs per half cycle), `lr_gamma`
    (exp_range); `batch_size`, `epochs`, `weight_decay` (L2; decoupled for adamw); `early_stopping` after
    `patience` epochs without the validation loss improving by `tol`, restoring the best weights; `dtype` float32 or float64.
"""


class MLPClassifier(ClassifierMixin, _Trainer):
    """A multi-layer perceptron trained on softmax cross-entropy.

    Architecture: `hidden_layers` layers of `hidden_units` units (or a list, one width a layer, which then
    sets the depth), `activation` relu, tanh, gelu or sigmoid, inverted `dropout` after each hidden layer.
    """ + _COMMON_DOC

    def __init__(self, hidden_layers=1, hidden_units=64, activation="relu", optimizer="adam", learning_rate=1e-3,
                 lr_schedule="constant", lr_decay=0.01, lr_rate=None, lr_every=10, lr_start=0, lr_warmup=0,
                 lr_min=None, lr_cycle=5, lr_gamma=0.95, momentum=0.9, rho=0.9, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, batch_size=64, epochs=20, dropout=0.0, weight_decay=0.0, early_stopping=False,
                 patience=5, tol=1e-4, validation_fraction=0.1, dtype="float32", random_state=None):
        _store(self, locals())

    def _learn_outputs(self, y: np.ndarray) -> None:
        check_classification_targets(y)  # a continuous target is a mistake, not a thousand classes
        self.classes_ = np.unique(y)

    def _targets(self, y: np.ndarray) -> np.ndarray:
        """One-hot targets over the classes seen in fit."""
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, len(self.classes_) - 1)
        if not np.all(self.classes_[index] == y):
            unknown = sorted(set(np.asarray(y).tolist()) - set(self.classes_.tolist()))[:5]
            raise ValueError(f"validation labels {unknown} are not among the training classes")
        return np.eye(len(self.classes_))[index]

    def _score_of(self, logits: np.ndarray, targets: np.ndarray) -> float:
        return float((logits.argmax(axis=1) == targets.argmax(axis=1)).mean())

    def predict_proba(self, X) -> np.ndarray:
        logits = self._raw(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        scores = self._raw(X)  # first: before fit it raises NotFittedError, not AttributeError on classes_
        return self.classes_[scores.argmax(axis=1)]


class SoftmaxRegression(MLPClassifier):
    """Multinomial logistic regression: the classifier with no hidden layer, trained the same way.
    """ + _COMMON_DOC

    def __init__(self, optimizer="adam", learning_rate=1e-2, lr_schedule="constant", lr_decay=0.01, lr_rate=None,
                 lr_every=10, lr_start=0, lr_warmup=0, lr_min=None, lr_cycle=5, lr_gamma=0.95, momentum=0.9,
                 rho=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8, batch_size=64, epochs=20, weight_decay=0.0,
                 early_stopping=False, patience=5, tol=1e-4, validation_fraction=0.1, dtype="float32", random_state=None):
        _store(self, locals())


class MLPRegressor(RegressorMixin, _Trainer):
    """A multi-layer perceptron trained on squared error (one output or several); val score is R².

    Architecture as MLPClassifier's. Targets are standardised inside (so the learning rates that suit the
    classifier suit it too, whatever the target's units); the losses it reports are in those units.
    """ + _COMMON_DOC

    _loss = "squared_error"
    _score_name = "val_r2"
    __init__ = MLPClassifier.__init__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one output unit a target column
        return tags

    def _learn_outputs(self, y: np.ndarray) -> None:
        self._single_output = np.ndim(y) == 1
        y = self._as_2d(y)
        self.n_outputs_ = y.shape[1]
        self.y_mean_ = y.mean(axis=0)
        std = y.std(axis=0)
        self.y_scale_ = np.where(std > 0, std, 1.0)

    @staticmethod
    def _as_2d(y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        return y[:, None] if y.ndim == 1 else y

    def _targets(self, y: np.ndarray) -> np.ndarray:
        return (self._as_2d(y) - self.y_mean_) / self.y_scale_

    def _score_of(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        residual = ((targets - outputs) ** 2).sum(axis=0)
        total = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)
        r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), 0.0)
        return float(r2.mean())

    def predict(self, X) -> np.ndarray:
        out = self._raw(X).astype(np.float64) * self.y_scale_ + self.y_mean_
        return out[:, 0] if self._single_output else out
