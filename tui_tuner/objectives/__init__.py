"""What a trial runs, built from a study file's `objective:` section.

Every objective is a picklable callable `objective(params, trial)` with `metric` and `direction`, an
optional `prepare()` (run once per worker: load data, import user code) and `test_score(params, seed)`
for the held-out score of the final config. Building one checks the section in full, without running
user code (only scikit-learn and tui-tuner are imported; see `source`), so a mistake fails before any trial.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..analysis.balance import Balance
from ..errors import InputError
from ..options import Option, Whole
from .classes import import_estimator
from .command import CommandObjective, split_command
from .datasets import dataset_from_yaml
from .estimator import (BUILTIN_MODELS, COST_METRICS, SCALERS, EstimatorObjective, learns_in_epochs,
                        validation_from_yaml)
from .function import FunctionObjective, FunctionRef
from .pipeline import check_missing, default_pipeline, describe_default, pipeline_from_yaml
from .source import definition, is_trusted, module_source

DIRECTIONS = ("minimize", "maximize")
MODEL_KEYS = {"model", "dataset", "metric", "direction", "validation", "scaler", "pipeline", "fixed", "test_fraction",
              "epochs", "balance"}
EPOCHS = Option(None, Whole(1), "passes over the training data, each a point on the curves")
PYTHON_KEYS = {"python", "metric", "direction", "test", "fixed", "balance"}
COMMAND_KEYS = {"command", "metric", "direction", "fixed", "balance"}
KINDS = "model: (a scikit-learn estimator), python: (your function) or command: (any program)"
FIXED_LIMIT = 64 << 10  # bytes of objective.fixed as JSON: every best-config file and trial command holds it


def build_objective(section: object, *, base_dir: Path, file: str | None = None) -> Any:
    """`{model: ..., dataset: ...}`, `{python: "train.py:fn"}` or `{command: "python train.py"}` -> an
    objective; InputError names the field."""
    if not isinstance(section, dict):
        raise InputError(f"must be a mapping with {KINDS}", file=file, field="objective")
    if sum(kind in section for kind in ("model", "python", "command")) != 1:
        raise InputError(f"needs exactly one of {KINDS}", file=file, field="objective")
    keys = MODEL_KEYS if "model" in section else PYTHON_KEYS if "python" in section else COMMAND_KEYS
    for key in section:
        if key not in keys:
            raise InputError(f"unknown key {key!r}; expected {', '.join(sorted(keys))}", file=file,
                             field=f"objective.{key}")
    fixed = section.get("fixed") or {}
    if not isinstance(fixed, dict) or not all(isinstance(k, str) for k in fixed):
        raise InputError("must be a mapping of argument names to values", file=file, field="objective.fixed")
    _check_fixed(fixed, file=file)
    if "model" in section:
        objective = _estimator_objective(section, fixed, base_dir=base_dir, file=file)
    elif "python" in section:
        objective = _function_objective(section, fixed, base_dir=base_dir, file=file)
    else:
        objective = _command_objective(section, fixed, base_dir=base_dir, file=file)
    objective.balance = Balance.from_yaml(section.get("balance"), objective.metrics, file=file)
    return objective


def _check_fixed(fixed: dict, *, file: str | None) -> None:
    """Fixed values are copied into every best-config file as they are: JSON values, and small."""
    try:
        size = len(json.dumps(fixed, allow_nan=False))
    except (TypeError, ValueError) as err:  # a YAML date or set, NaN, infinity
        reason = str(err).replace("Out of range float values are not JSON compliant", "NaN and infinity are not")
        raise InputError(f"must hold JSON values (text, finite numbers, true/false, null, lists, mappings): "
                         f"{reason}", file=file, field="objective.fixed") from None
    except RecursionError:
        raise InputError("nests lists and mappings too deeply", file=file, field="objective.fixed") from None
    if size > FIXED_LIMIT:
        raise InputError(f"is {size:,} bytes as JSON; at most {FIXED_LIMIT:,} (each best-config file holds it)",
                         file=file, field="objective.fixed")


def metrics_of(objective: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(metrics, directions) of any objective: one of each unless the study file listed several."""
    return (getattr(objective, "metrics", (objective.metric,)),
            getattr(objective, "directions", (objective.direction,)))


def study_direction(objective: Any) -> str | list[str]:
    """What searchers and the trial log are given: the direction, or a list of them for several metrics."""
    directions = metrics_of(objective)[1]
    return list(directions) if len(directions) > 1 else objective.direction


def study_metric(objective: Any) -> str | list[str]:
    """The metric as the journal's header records it: its name, or a list of names for several metrics."""
    metrics = metrics_of(objective)[0]
    return list(metrics) if len(metrics) > 1 else objective.metric


def _metric_list(section: dict, default_direction: str, *, file: str | None) -> tuple[list[str], list[str]] | None:
    """`metric: [a, b]` with `direction: [..., ...]` (or one direction for all) as two checked lists; None
    when `metric` is not a list (one metric, checked by the caller as before)."""
    metrics = section.get("metric")
    if not isinstance(metrics, list):
        return None
    if not metrics or not all(isinstance(m, str) and m for m in metrics):
        raise InputError(f"must be metric names, got {metrics!r}", file=file, field="objective.metric")
    twice = sorted({m for m in metrics if metrics.count(m) > 1})
    if twice:
        raise InputError(f"names {twice[0]!r} twice; each metric once", file=file, field="objective.metric")
    directions = section.get("direction", [default_direction] * len(metrics))
    if isinstance(directions, str):
        directions = [directions] * len(metrics)
    if not isinstance(directions, list) or len(directions) != len(metrics):
        raise InputError(f"must be a list of {len(metrics)} directions, one for each of objective.metric "
                         f"{metrics}, got {directions!r}", file=file, field="objective.direction")
    for metric, direction in zip(metrics, directions):
        if direction not in DIRECTIONS:
            raise InputError(f"must be minimize or maximize for each metric, got {direction!r} for {metric!r}",
                             file=file, field="objective.direction")
    return metrics, directions


def _estimator_objective(section: dict, fixed: dict, *, base_dir: Path, file: str | None) -> EstimatorObjective:
    model = section["model"]
    if not isinstance(model, str):
        raise InputError(f"must be mlp, softmax or a dotted class path like sklearn.svm.SVC, got {model!r}",
                         file=file, field="objective.model")
    if "dataset" not in section:
        raise InputError("is missing: name a dataset (e.g. breast_cancer) or {csv: PATH, target: COLUMN}",
                         file=file, field="objective.dataset")
    dataset = dataset_from_yaml(section["dataset"], base_dir=base_dir, file=file)
    if model in BUILTIN_MODELS:
        classifier, regressor = BUILTIN_MODELS[model]
        model = regressor if dataset.is_regression else classifier
        if model is None:
            raise InputError(f"{section['model']} is a classifier and {dataset.name} is a regression dataset; "
                             "use mlp", file=file, field="objective.model")
    elif "." not in model:
        raise InputError(f"unknown model {model!r}; use {', '.join(BUILTIN_MODELS)} or a dotted class path like "
                         "sklearn.svm.SVC", file=file, field="objective.model")
    facts = _model_facts(model, base_dir=base_dir, file=file)
    if dataset.text_target and facts.classifier is False:
        raise InputError(f"{facts.name} is a regressor, and the target {dataset.target!r} holds text labels, which "
                         "a classifier predicts; name a classifier", file=file, field="objective.model")
    epochs = _epochs(section, facts, file=file)
    if epochs is not None and facts.learns_in_epochs:  # the built-in models take epochs as a parameter
        fixed = {"epochs": epochs, **fixed}
        epochs = None
    epochwise = epochs is not None or facts.learns_in_epochs
    if "metric" not in section and facts.classifier is None:
        raise InputError(f"is missing: {facts.name} is your own code, which runs only in the trials, so whether it "
                         "classifies or regresses is unknown; name a scorer (e.g. accuracy or r2)", file=file,
                         field="objective.metric")
    costs, cost_directions = (), ()
    several = _metric_list(section, "minimize", file=file)
    if several is not None:
        (metric, *costs), (direction, *cost_directions) = several
        wrong = [m for m in costs if m not in COST_METRICS]
        if wrong or metric in COST_METRICS:
            raise InputError(f"must be a scikit-learn scorer followed by any of {', '.join(COST_METRICS)}, got "
                             f"{section['metric']!r}", file=file, field="objective.metric")
        section = {**section, "direction": direction if "direction" in section else "maximize"}
    else:
        metric = section.get("metric", "accuracy" if facts.classifier else "r2")
    from sklearn.metrics import get_scorer_names

    if metric not in get_scorer_names():
        close = [n for n in get_scorer_names() if str(metric) in n][:5]
        hint = f"; did you mean {', '.join(close)}?" if close else " (see sklearn.metrics.get_scorer_names())"
        raise InputError(f"unknown scikit-learn scorer {metric!r}{hint}", file=file, field="objective.metric")
    if section.get("direction", "maximize") != "maximize":
        raise InputError("scikit-learn scorers are greater-is-better (neg_* for losses): use maximize (for the "
                         "scorer) or leave it out", file=file, field="objective.direction")
    validation = validation_from_yaml(section.get("validation", {"holdout": 0.2} if epochwise else {"kfold": 5}),
                                      file=file)
    if epochwise and validation.kind != "holdout":
        raise InputError("a model trained epoch by epoch reports on one validation split: use {holdout: FRACTION}",
                         file=file, field="objective.validation")
    scaler = section.get("scaler", "standard" if facts.learns_in_epochs else None)  # networks need scaled inputs
    if scaler is not None and scaler not in SCALERS:
        raise InputError(f"unknown scaler {scaler!r}; use {', '.join(SCALERS)}", file=file,
                         field="objective.scaler")
    if "pipeline" in section:
        pipeline, note = pipeline_from_yaml(section["pipeline"], dataset=dataset, base_dir=base_dir, file=file), None
        later = [("objective.scaler", SCALERS[scaler])] if scaler and SCALERS[scaler] else []
        check_missing(pipeline, [*later, ("objective.model", model)], dataset, file=file)
    else:
        pipeline = default_pipeline(dataset)
        note = describe_default(pipeline, dataset)
    test_fraction = section.get("test_fraction", 0.2)
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 <= test_fraction < 1:
        raise InputError(f"must be a fraction from 0 (no test split) to below 1, got {test_fraction!r}", file=file,
                         field="objective.test_fraction")
    own_code = not is_trusted(model) or not all(step.trusted for step in pipeline)
    kind = EstimatorObjective if is_trusted(model) else OwnEstimatorObjective
    objective = kind(model, dataset, metric=metric, validation=validation, scaler=scaler, pipeline=pipeline,
                     fixed=fixed, test_fraction=float(test_fraction), epochs=epochs,
                     code_dir=str(base_dir.resolve()) if own_code else None, costs=costs,
                     cost_directions=cost_directions)
    objective.note = note
    objective.check_params(list(fixed), file=file)
    return objective


class OwnEstimatorObjective(EstimatorObjective):
    """A model class of your own code: checking its params or fixed values at load would import it, that is
    run it, so its first trial checks them instead (and fails with the model's own message)."""

    def _model_arguments(self, *, file: str | None) -> None:
        """Left to the first trial: the class's signature is known only by importing it."""

    def check_fixed(self, *, file: str | None) -> None:
        """Left to the first trial: validating a value means building the model."""


@dataclass(frozen=True)
class ModelFacts:
    """What the loader needs to know of an estimator class; None where it cannot tell without running it."""

    name: str
    learns_in_epochs: bool
    partial_fit: bool | None
    classifier: bool | None


def _model_facts(model: str, *, base_dir: Path, file: str | None) -> ModelFacts:
    """scikit-learn's and our classes are imported and asked; any other is located and parsed, never run."""
    field = "objective.model"
    if is_trusted(model):
        cls = import_estimator(model, file=file, field=field)
        return ModelFacts(cls.__name__, learns_in_epochs(cls), hasattr(cls, "partial_fit"), _is_classifier(cls))
    module, _, name = model.rpartition(".")
    node = definition(module_source(module, base_dir=base_dir, file=file, field=field), name, "class",
                      file=file, field=field)
    if not isinstance(node, ast.ClassDef):  # an import or an assignment: known to exist, nothing more
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            raise InputError(f"{model!r} is a function, not an estimator class", file=file, field=field)
        return ModelFacts(name, False, None, _kind_by_name([name]))
    methods = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    bases = [ast.unparse(base) for base in node.bases]
    if not bases and "fit" not in methods:
        raise InputError(f"{model!r} is not a scikit-learn estimator class: it has no fit method", file=file,
                         field=field)
    partial_fit = True if "partial_fit" in methods else None if bases else False
    return ModelFacts(name, False, partial_fit, _kind_by_name([name, *bases]))


def _kind_by_name(names: list[str]) -> bool | None:
    """A class named (or derived from) *Classifier*/ClassifierMixin classifies; *Regressor* regresses."""
    text = " ".join(names)
    if "Classifier" in text:
        return True
    return False if "Regressor" in text else None


def _epochs(section: dict, facts: ModelFacts, *, file: str | None) -> int | None:
    """`epochs:` of a model section: whole, positive, and for an estimator that can learn in passes."""
    epochs = EPOCHS.check(section.get("epochs"), field="objective.epochs", file=file)
    if epochs is None:
        return None
    if not facts.learns_in_epochs and facts.partial_fit is False:
        raise InputError(f"{facts.name} has no partial_fit, so it cannot train epoch by epoch; remove epochs",
                         file=file, field="objective.epochs")
    return epochs


def _is_classifier(cls: type) -> bool:
    from sklearn.base import is_classifier

    try:
        return is_classifier(cls())
    except Exception:  # an estimator with required arguments: fall back to its declared type
        return getattr(cls, "_estimator_type", None) == "classifier"


def _function_objective(section: dict, fixed: dict, *, base_dir: Path, file: str | None) -> FunctionObjective:
    function = FunctionRef(section["python"], base_dir=base_dir, file=file, field="objective.python")
    test = None
    if section.get("test") is not None:
        test = FunctionRef(section["test"], base_dir=base_dir, file=file, field="objective.test")
    metric, direction = _metrics_and_directions(section, section.get("metric", "value"), file=file)
    return FunctionObjective(function, metric=metric, direction=direction, test=test, fixed=fixed)


def _command_objective(section: dict, fixed: dict, *, base_dir: Path, file: str | None) -> CommandObjective:
    words = split_command(section["command"], base_dir=base_dir, file=file)
    if "metric" not in section:
        raise InputError("is missing: name the key of the program's last JSON line to optimize, like val_loss",
                         file=file, field="objective.metric")
    metric, direction = _metrics_and_directions(section, section["metric"], file=file)
    return CommandObjective(words, metric=metric, direction=direction, fixed=fixed, cwd=base_dir)


def _metrics_and_directions(section: dict, metric: object, *, file: str | None
                            ) -> tuple[str | list[str], str | list[str]]:
    """A user objective's metric (a name, or a list of names) and direction (one, or a list alike)."""
    several = _metric_list(section, "minimize", file=file)
    if several is not None:
        return several
    if not isinstance(metric, str) or not metric:
        raise InputError(f"must be the name of the value to optimize (or a list of names), got {metric!r}",
                         file=file, field="objective.metric")
    direction = section.get("direction", "minimize")
    if direction not in DIRECTIONS:
        raise InputError(f"must be minimize or maximize, got {direction!r}", file=file, field="objective.direction")
    return metric, direction
