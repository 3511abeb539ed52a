"""A scikit-learn estimator as an objective: params go to its constructor, scored by cross-validation.

Models that learn in epochs train on one validation split and report every epoch (train loss, val_loss,
the study's metric, the learning rate), so curves draw live and a pruner can stop them: the built-in
numpy models always, any estimator with `partial_fit` when the study sets `epochs`.

With `pipeline:` (see `pipeline`) or `scaler:` the trial fits a Pipeline (steps, scaler, model), built
afresh for every fold, and params named `step__x` (`pca__n_components`, `scaler__x`, `model__x`) reach the
step they name (unprefixed ones go to the model), so feature settings and model settings are tuned together.
A param named `scaler` picks the scaler itself. The test split is cut before tuning, with a fixed seed, and
only `test_score` touches it.
"""

from __future__ import annotations

import pickle
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, TrialPruned
from ..options import Whole, checked
from ..trial import Trial
from .classes import constructor_args, import_estimator
from .datasets import DatasetSpec
from .pipeline import Step, assemble
from .source import is_trusted

SCALERS = {
    "standard": "sklearn.preprocessing.StandardScaler",
    "minmax": "sklearn.preprocessing.MinMaxScaler",
    "robust": "sklearn.preprocessing.RobustScaler",
    "none": None,
}
# `model: mlp` and friends: the built-in numpy models, (classifier, regressor) by the dataset's kind
BUILTIN_MODELS = {
    "mlp": ("tui_tuner.models.MLPClassifier", "tui_tuner.models.MLPRegressor"),
    "softmax": ("tui_tuner.models.SoftmaxRegression", None),
}
SPLIT_SEED = 0  # the test split and CV folds are the same for every trial, so scores compare
VALIDATIONS = ("kfold", "timeseries", "holdout")
COST_METRICS = ("fit_time", "model_size")  # what an estimator objective measures besides its scorer


def learns_in_epochs(cls: type) -> bool:
    """The built-in numpy models: `fit` takes a validation set and a per-epoch callback."""
    return hasattr(cls, "lr_range_test")


@dataclass(frozen=True)
class Validation:
    kind: str  # kfold | timeseries | holdout
    amount: float  # folds, or the holdout fraction

    def splits(self, X: np.ndarray, y: np.ndarray, classifier: bool):
        from sklearn import model_selection as ms

        if self.kind == "kfold":
            cls = ms.StratifiedKFold if classifier else ms.KFold
            return list(cls(int(self.amount), shuffle=True, random_state=SPLIT_SEED).split(X, y))
        if self.kind == "timeseries":
            return list(ms.TimeSeriesSplit(int(self.amount)).split(X))
        index = np.arange(len(y))
        train, valid = ms.train_test_split(index, test_size=self.amount, random_state=SPLIT_SEED,
                                           stratify=y if classifier else None)
        return [(train, valid)]


def validation_from_yaml(value: object, *, file: str | None) -> Validation:
    where = "objective.validation"
    if not isinstance(value, dict) or len(value) != 1:
        raise InputError("must be one of {kfold: K}, {timeseries: K}, {holdout: FRACTION}", file=file, field=where)
    (kind, amount), = value.items()
    if kind not in VALIDATIONS:
        raise InputError(f"unknown validation {kind!r}; use kfold, timeseries or holdout", file=file, field=where)
    if kind == "holdout":
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 < amount < 1:
            raise InputError(f"must be a fraction between 0 and 1, got {amount!r}", file=file,
                             field=f"{where}.holdout")
    else:
        amount = checked(Whole(2), amount, field=f"{where}.{kind}", file=file)
    return Validation(kind, float(amount))


class EstimatorObjective:
    """`objective(params, trial)` for a scikit-learn estimator; picklable, loads its data in the worker."""

    def __init__(self, model: str, dataset: DatasetSpec, *, metric: str, validation: Validation,
                 scaler: str | None = None, pipeline: tuple[Step, ...] = (), fixed: dict | None = None,
                 test_fraction: float = 0.2,
                 epochs: int | None = None, code_dir: str | None = None, costs: tuple[str, ...] = (),
                 cost_directions: tuple[str, ...] = ()) -> None:
        self.model = model
        self.dataset = dataset
        self.metric = metric
        self.direction = "maximize"  # scikit-learn scorers are greater-is-better (neg_* for losses)
        self.costs = tuple(costs)  # COST_METRICS measured beside the scorer, as further metrics of the study
        self.metrics = (metric, *self.costs)
        self.directions = ("maximize", *cost_directions)
        self.validation = validation
        self.scaler = scaler
        self.pipeline = tuple(pipeline)  # the steps before the (scaler and) model
        self.note: str | None = None  # one line a run prints about steps it chose itself
        self.fixed = dict(fixed or {})
        self.test_fraction = test_fraction
        self.epochs = epochs  # partial_fit passes of a scikit-learn estimator; None: plain fit
        self.code_dir = code_dir  # the study file's folder, where a model of your own is imported from
        self._data: tuple | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_data": None}  # workers load the data themselves

    # ------------------------------------------------------------------------------------- checks (no data)

    def check_params(self, names: list[str], *, file: str | None) -> None:
        """Every tuned and fixed param must reach a constructor argument: a typo fails before any trial."""
        known = self._step_arguments(file=file)
        for name in names:
            if name == "scaler":
                continue
            step, _, arg = name.partition("__") if "__" in name else ("model", "", name)
            field = f"params.{name}" if name not in self.fixed else f"objective.fixed.{name}"
            if step not in known:
                steps = ", ".join(f"{s}__" for s in known)
                raise InputError(f"unknown pipeline step {step!r}; use {steps}", file=file, field=field)
            if known[step] is not None and arg not in known[step]:
                classes = {s.name: s.path for s in self.pipeline} | {"model": self.model}
                owner = classes[step].rsplit(".", 1)[-1] if step in classes else "the scaler"
                raise InputError(f"{owner} has no parameter {arg!r}", file=file, field=field)

    def _step_arguments(self, *, file: str | None) -> dict[str, set[str] | None]:
        """Step name -> the arguments its constructor takes (None: your own class, checked by its trials)."""
        scalers = [SCALERS[self.scaler]] if self.scaler else list(SCALERS.values())  # a `scaler` param may pick
        scaler_args = set().union(*(constructor_args(import_estimator(path, file=file, field="objective.scaler"))
                                    for path in scalers if path))
        steps = {step.name: constructor_args(import_estimator(step.path, file=file, field="objective.pipeline"))
                 if step.trusted else None for step in self.pipeline}
        return {"model": self._model_arguments(file=file), **steps, "scaler": scaler_args}

    def _model_arguments(self, *, file: str | None) -> set[str] | None:
        return constructor_args(import_estimator(self.model, file=file, field="objective.model"))

    def check_fixed(self, *, file: str | None) -> None:
        """Fixed values a step rejects (`C: notanumber`, `pca: {n_components: many}`) fail now, not in every
        trial: the estimator's own parameter validation (our models' `_check_params`, scikit-learn's
        `_validate_params`) judges them. A step of your own code is built only in trials, so then its trials
        judge them all."""
        if not all(step.trusted for step in self.pipeline):
            return
        checking = None  # the step being validated; None while the steps are built
        try:
            for checking, step in self._parts({}, seed=0):
                validate = getattr(step, "_check_params", None) or getattr(step, "_validate_params", None)
                if validate is not None:
                    validate()
        except Exception as err:
            message = (str(err).splitlines() or [""])[0]
            names = [checking] if checking else ["model", "scaler", *(step.name for step in self.pipeline)]
            given = {arg: where for name in names for arg, where in self._given(name).items()}
            field = next((where for arg, where in given.items() if f"'{arg}'" in message), None)
            if field is not None:  # other complaints (a required argument the search fills in) wait for trials
                raise InputError(message, file=file, field=field) from None

    def _given(self, step: str) -> dict[str, str]:
        """The arguments the study file gives a step, each with the field that gives it."""
        given = {arg: f"objective.pipeline.{step}.{arg}" for s in self.pipeline if s.name == step for arg in s.args}
        for key in self.fixed:
            prefix, _, arg = key.partition("__") if "__" in key else ("model", "", key)
            if prefix == step:
                given[arg] = f"objective.fixed.{key}"
        return given

    # -------------------------------------------------------------------------------------- in the worker

    def prepare(self) -> None:
        """Load the data and cut the test split once per worker process."""
        if self.code_dir and self.code_dir not in sys.path:
            sys.path.insert(0, self.code_dir)
        if self._data is not None:
            return
        from sklearn.model_selection import train_test_split

        X, y = self.dataset.load()
        classifier = self._is_classifier()
        if self.test_fraction:
            X, X_test, y, y_test = train_test_split(X, y, test_size=self.test_fraction, random_state=SPLIT_SEED,
                                                    stratify=y if classifier else None)
        else:
            X_test = y_test = None
        self._data = (X, y, X_test, y_test, self.validation.splits(X, y, classifier))

    def _is_classifier(self) -> bool:
        from sklearn.base import is_classifier

        return is_classifier(import_estimator(self.model, file=None, field="objective.model")())

    def build(self, params: dict, seed: int):
        """The estimator (or the pipeline of steps, scaler and model) for one config, seeded by the trial when a
        step takes a seed."""
        from sklearn.pipeline import Pipeline

        parts = self._parts(params, seed)
        if len(parts) == 1:
            return parts[0][1]
        steps, rest = parts[:len(self.pipeline)], parts[len(self.pipeline):]  # rest: the scaler, the model
        made = [(step, transformer) for step, (_, transformer) in zip(self.pipeline, steps)]
        return Pipeline(assemble(made, self.dataset.text_columns) + rest)

    def _parts(self, params: dict, seed: int) -> list[tuple[str, Any]]:
        """(name, estimator) of the pipeline's steps in order, then the scaler (when one is chosen), then the
        model, each given the settings its prefix names."""
        settings = {**self.fixed, **params}
        scaler = settings.pop("scaler", self.scaler)
        prefixes = {step.name for step in self.pipeline} | {"scaler", "model"}
        by_step: dict[str, dict] = {name: {} for name in prefixes}
        for key, value in settings.items():
            prefix, _, arg = key.partition("__")
            if arg and prefix in prefixes:
                by_step[prefix][arg] = value
            else:
                by_step["model"][key] = value
        parts = [(step.name, step.make(by_step[step.name], seed)) for step in self.pipeline]
        if scaler and scaler != "none":
            scaler_cls = import_estimator(SCALERS[scaler], file=None, field="objective.scaler")
            parts.append(("scaler", scaler_cls(**by_step["scaler"])))
        cls = import_estimator(self.model, file=None, field="objective.model")
        model_args = by_step["model"]
        if "random_state" in constructor_args(cls) and "random_state" not in model_args:
            model_args["random_state"] = seed % 2**31
        return [*parts, ("model", cls(**model_args))]

    @property
    def supports_lr_range_test(self) -> bool:
        """Asked in the app's process: a model of your own is never imported there (it is not ours anyway)."""
        return is_trusted(self.model) and learns_in_epochs(import_estimator(self.model, file=None, field="model"))

    @property
    def epochwise(self) -> bool:
        """Trained epoch by epoch on one validation split, reporting each epoch."""
        return self.epochs is not None or learns_in_epochs(import_estimator(self.model, file=None, field="model"))

    def __call__(self, params: dict, trial: Trial) -> dict:
        from sklearn.metrics import get_scorer

        self.prepare()
        if self.epochwise:
            return self._train_by_epoch(params, trial)
        X, y, _, _, splits = self._data
        scorer = get_scorer(self.metric)
        scores, seconds = [], []
        for fold, (train, valid) in enumerate(splits):
            estimator = self.build(params, trial.seed)
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence chatter belongs in the score, not the log
                estimator.fit(X[train], y[train])
            seconds.append(time.perf_counter() - started)
            scores.append(float(scorer(estimator, X[valid], y[valid])))
            trial.report(fold, **{self.metric: float(np.mean(scores))})
        return {self.metric: float(np.mean(scores)), f"{self.metric}_std": float(np.std(scores)),
                **self._cost_metrics(float(np.mean(seconds)), estimator)}

    def _cost_metrics(self, fit_seconds: float, estimator: Any) -> dict:
        """The COST_METRICS the study optimises: fit_time (seconds to fit once, a fold's mean under k-fold)
        and model_size (bytes of the fitted model, pickled)."""
        measured = {"fit_time": lambda: fit_seconds, "model_size": lambda: float(len(pickle.dumps(estimator)))}
        return {name: measured[name]() for name in self.costs}

    def _train_by_epoch(self, params: dict, trial: Trial) -> dict:
        """Fit on the training part of the one split, report after every epoch, prune when told to."""
        from sklearn.metrics import get_scorer

        X, y, _, _, splits = self._data
        (train, valid), = splits
        model, X_train, X_valid = self._features(self.build(params, trial.seed), X[train], y[train], X[valid])
        y_train, y_valid = y[train], y[valid]
        scorer = get_scorer(self.metric)
        last = (model.epochs if learns_in_epochs(type(model)) else self.epochs) - 1

        def on_epoch(epoch: int, metrics: dict) -> None:
            own_scores = ("val_accuracy", "val_r2")  # the study's scorer says the same under the metric's name
            values = {k: v for k, v in metrics.items() if k not in own_scores}
            trial.report(epoch, **{self.metric: float(scorer(model, X_valid, y_valid)), **values})
            if trial.should_prune() and epoch < last:  # after the last epoch the work is done: keep it
                raise TrialPruned()

        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if learns_in_epochs(type(model)):
                model.fit(X_train, y_train, validation=(X_valid, y_valid), callback=on_epoch)
                epochs = model.n_epochs_
            else:
                fit_kwargs = self._partial_fit_kwargs(y)
                for epoch in range(self.epochs):
                    model.partial_fit(X_train, y_train, **fit_kwargs)
                    on_epoch(epoch, {})
                epochs = self.epochs
        fit_seconds = time.perf_counter() - started  # the epochs' validation scores included
        return {self.metric: float(scorer(model, X_valid, y_valid)), "epochs": epochs,
                **self._cost_metrics(fit_seconds, model)}

    @staticmethod
    def _features(estimator, X_train: np.ndarray, y_train: np.ndarray, X_valid: np.ndarray | None = None):
        """(model, X_train, X_valid) with a pipeline's steps before the model fitted on the training part (with
        its targets, which feature selection needs) and applied."""
        from sklearn.pipeline import Pipeline

        if not isinstance(estimator, Pipeline):
            return estimator, X_train, X_valid
        steps = estimator[:-1].fit(X_train, y_train)  # the pipeline's own steps: it scores with them afterwards
        return estimator[-1], steps.transform(X_train), None if X_valid is None else steps.transform(X_valid)

    def _partial_fit_kwargs(self, y: np.ndarray) -> dict:
        """partial_fit must see every class on its first call."""
        return {"classes": np.unique(y)} if self._is_classifier() else {}

    def _fit_all(self, estimator, X: np.ndarray, y: np.ndarray):
        """Fit on all the tuning data, the way trials trained: fit, or `epochs` partial_fit passes."""
        if self.epochs is None:
            return estimator.fit(X, y)
        model, X, _ = self._features(estimator, X, y)
        fit_kwargs = self._partial_fit_kwargs(y)
        for _ in range(self.epochs):
            model.partial_fit(X, y, **fit_kwargs)
        return estimator

    def lr_range_test(self, params: dict, seed: int, *, steps: int | None = None):
        """The LR range test of a built-in model on this study's training split: (rates, smoothed losses)."""
        self.prepare()
        X, y, _, _, splits = self._data
        (train, _), = splits
        model, X_train, _ = self._features(self.build(params, seed), X[train], y[train])
        return model.lr_range_test(X_train, y[train], steps=steps)

    def test_score(self, params: dict, seed: int) -> float | None:
        """Fit on all the tuning data, score once on the held-out test split."""
        from sklearn.metrics import get_scorer

        self.prepare()
        X, y, X_test, y_test, _ = self._data
        if X_test is None:
            return None
        estimator = self.build(params, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._fit_all(estimator, X, y)
        return float(get_scorer(self.metric)(estimator, X_test, y_test))
