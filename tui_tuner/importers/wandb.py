"""A W&B sweep configuration as a tui-tuner study file.

`method` becomes the strategy, `metric` the objective's metric and direction, `run_cap` the trial budget,
`early_terminate` (hyperband) the successive-halving pruner, and `program`/`command` a command objective
(each param passed as `--name=value`, as W&B's `${args}` does). Every parameter kind is carried over:
`value` (a fixed argument), `values` (choices), the uniform, log-uniform and `q_` (stepped) distributions;
`normal`, `log_normal` and `beta` become the range that holds most of their mass; nested parameters are
flattened to `outer__inner`. Whatever cannot be carried over exactly is returned as a warning and written
as a comment at the head of the study file, never dropped in silence.
"""

from __future__ import annotations

import io
import json
import math
import re
import shlex
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..errors import InputError
from ..files import read_input
from ..space import SearchSpace
from ..spec import parse_yaml
from .imported import MAGNITUDE, MAX_CHOICES, shown, study_name
from .sweep_comments import sweep_comments

METHODS = ("grid", "random", "bayes")  # W&B's, each one of our strategies by the same name
NORMAL_WIDTH = 2.0  # a normal distribution is searched over mu ± this many sigma (95% of its mass)
CONSTANT, CATEGORICAL = "constant", "categorical"
DISTRIBUTIONS = (CONSTANT, CATEGORICAL, "int_uniform", "uniform", "q_uniform", "log_uniform", "q_log_uniform",
                 "log_uniform_values", "q_log_uniform_values", "inv_log_uniform", "inv_log_uniform_values",
                 "normal", "q_normal", "log_normal", "q_log_normal", "beta", "q_beta")
SWEEP_KEYS = ("method", "metric", "parameters", "run_cap", "early_terminate", "program", "command", "name",
              "description")
DEFAULT_INTERPRETER = "python"
SWEEP_LIMIT = 1 << 20  # bytes of a sweep file (W&B's are a few hundred; PyYAML reads about 1 MiB a second)
MAX_VALUES = 10_000  # values a sweep may hold once its YAML aliases are expanded (a billion laughs is refused)
MAX_PARAMETERS = 1_000  # parameters of one sweep (ruamel writes one in about 4 ms)
MAX_STEPS = 10 ** 9  # the most steps of q a range may hold
LARGEST_EXP = 709.0  # e to more than this is past the largest float


def sweep_to_study(sweep: Any, *, file: str, stem: str,
                   written: dict[str, list[str]] | None = None) -> tuple[dict, list[str], dict[str, str]]:
    """(study file, warnings, a comment for each param and fixed value) for a parsed sweep configuration;
    `written` holds the comments the sweep's author wrote on each parameter, by field (`parameters.lr`), for
    those comments. InputError names the file and the field of what cannot be read (an unknown method or
    distribution, a missing bound)."""
    if not isinstance(sweep, dict):
        raise InputError("must be a W&B sweep configuration (a mapping with method, metric, parameters)", file=file)
    warnings: list[str] = []
    for key in sweep:
        if key not in SWEEP_KEYS:
            warnings.append(f"{key}: not carried over (tui-tuner has no such setting)")
    method = sweep.get("method")
    if method not in METHODS:
        raise InputError(f"must be grid, random or bayes, got {shown(method)}", file=file, field="method")
    parameters = sweep.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise InputError("must map parameter names to their definitions", file=file, field="parameters")
    params, fixed, comments = {}, {}, {}
    for name, field, definition in _flattened(parameters, "parameters", file, warnings):
        if name in params or name in fixed:
            raise InputError(f"is {name} as a tui-tuner param, the name of another parameter too; rename one",
                             file=file, field=field)
        if len(params) + len(fixed) == MAX_PARAMETERS:
            raise InputError(f"holds more than {MAX_PARAMETERS:,} parameters", file=file, field="parameters")
        kind, spec, comment = _parameter(name, definition, file=file, field=field, warnings=warnings)
        own = (written or {}).get(field)
        if kind == CONSTANT:
            fixed[name] = spec
            if own:
                comments[f"objective.fixed.{name}"] = "; ".join(own)
        else:
            params[name] = spec
            comments[name] = f"{comment} | {'; '.join(own)}" if own else comment
    if not params:
        raise InputError("has only fixed values (value:); tui-tuner needs at least one parameter to tune",
                         file=file, field="parameters")
    try:
        SearchSpace.from_dict(params)
    except InputError as err:
        raise err.located(file=file, field_prefix="parameters") from None
    metric, direction = _metric(sweep.get("metric"), file, warnings)
    objective = {"command": _command(sweep, [*params, *fixed], file, warnings), "metric": metric,
                 "direction": direction}
    if fixed:
        objective["fixed"] = fixed
    search: dict[str, Any] = {"strategy": method}
    if "run_cap" in sweep:
        cap = sweep["run_cap"]
        if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAGNITUDE:
            raise InputError(f"must be a whole number of runs from 1 to 2^53, got {shown(cap)}", file=file,
                             field="run_cap")
        search["trials"] = cap
    name = sweep.get("name")
    if name is not None and not isinstance(name, str):
        raise InputError(f"must be a string, got {shown(name)}", file=file, field="name")
    study = {"name": study_name(name or stem), "objective": objective, "search": search}
    pruner = _pruner(sweep.get("early_terminate"), file, warnings)
    if pruner:
        study["pruner"] = pruner
    study["params"] = params
    return study, warnings, comments


def _flattened(parameters: dict, field: str, file: str, warnings: list[str], prefix: str = ""):
    """(name, field, definition) of each parameter, nested `parameters:` blocks flattened to outer__inner."""
    for key, definition in parameters.items():
        if not isinstance(key, str):
            raise InputError(f"a parameter's name must be a string, got {shown(key)}", file=file, field=field)
        name = re.sub(r"\W", "_", f"{prefix}{key}")
        if name != f"{prefix}{key}":
            warnings.append(f"{field}.{key}: renamed {name} (a tui-tuner param name is an identifier); your "
                            f"program gets --{name}=VALUE")
        if isinstance(definition, dict) and "parameters" in definition:
            inner = definition["parameters"]
            if not isinstance(inner, dict) or not inner:
                raise InputError("must map parameter names to their definitions", file=file,
                                 field=f"{field}.{key}.parameters")
            warnings.append(f"{field}.{key}: nested parameters flattened to {name}__NAME; your program gets "
                            f"--{name}__NAME=VALUE for each")
            yield from _flattened(inner, f"{field}.{key}.parameters", file, warnings, f"{name}__")
        else:
            if not name.isidentifier():
                raise InputError(f"cannot be a parameter name (an identifier), got {shown(key)}", file=file,
                                 field=f"{field}.{key}")
            yield name, f"{field}.{key}", definition


def _number(definition: dict, key: str, file: str, field: str) -> float:
    """A bound or step: a finite number within ±2^53, so that spans, steps and exponents stay floats."""
    value = definition.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) == math.inf:
        raise InputError(f"must be a number, got {shown(value)}", file=file, field=f"{field}.{key}")
    if abs(value) > MAGNITUDE:
        raise InputError(f"must be within ±2^53 ({float(MAGNITUDE):.4g}), got {shown(value)}", file=file,
                         field=f"{field}.{key}")
    return value


def _exp(power: float, file: str, field: str) -> float:
    """e to a natural-log bound, or the InputError of one past the largest float."""
    if power > LARGEST_EXP:
        raise InputError(f"e^{power:.6g} is past the largest float (the bounds of this distribution are natural "
                         "logs)", file=file, field=field)
    return math.exp(power)


def _kind(definition: dict, file: str, field: str) -> str:
    """The distribution a parameter names, or the one W&B infers from its keys."""
    if "distribution" in definition:
        kind = definition["distribution"]
        if kind not in DISTRIBUTIONS:
            raise InputError(f"unknown distribution {shown(kind)}; W&B's are {', '.join(DISTRIBUTIONS)}", file=file,
                             field=f"{field}.distribution")
        return kind
    if "value" in definition:
        return CONSTANT
    if "values" in definition:
        return CATEGORICAL
    if "min" in definition and "max" in definition:
        ints = all(isinstance(definition[k], int) and not isinstance(definition[k], bool) for k in ("min", "max"))
        return "int_uniform" if ints else "uniform"
    if "mu" in definition or "sigma" in definition:
        return "normal"
    raise InputError("needs value, values, min and max, or a distribution", file=file, field=field)


def _parameter(name: str, definition: Any, *, file: str, field: str,
               warnings: list[str]) -> tuple[str, Any, str]:
    """(kind, the param's definition or a fixed value, a comment saying what W&B had)."""
    if not isinstance(definition, dict):
        raise InputError(f"must be a mapping (value, values, min/max, distribution), got {shown(definition)}",
                         file=file, field=field)
    kind = _kind(definition, file, field)
    said = f"W&B: {kind}"
    if kind == CONSTANT:
        if "value" not in definition:
            raise InputError("a constant needs value", file=file, field=field)
        return CONSTANT, definition["value"], said
    if kind == CATEGORICAL:
        return CATEGORICAL, _choices(definition, file, field, warnings), said
    q = definition.get("q")
    step = None
    if kind.startswith("q_"):
        step = 1 if q is None else _number(definition, "q", file, field)
        if step <= 0:
            raise InputError(f"must be > 0, got {step}", file=file, field=f"{field}.q")
    base = kind.removeprefix("q_")
    if base in ("normal", "log_normal"):
        mu = _number(definition, "mu", file, field) if "mu" in definition else 0.0  # W&B's defaults
        sigma = _number(definition, "sigma", file, field) if "sigma" in definition else 1.0
        if sigma <= 0:
            raise InputError(f"must be > 0, got {sigma}", file=file, field=f"{field}.sigma")
        low, high = mu - NORMAL_WIDTH * sigma, mu + NORMAL_WIDTH * sigma
        log = base == "log_normal"
        if log:
            low, high = _exp(low, file, field), _exp(high, file, field)
        low, high = _tidy(low), _tidy(high)
        warnings.append(f"{field}: {kind}(mu={mu}, sigma={sigma}) searched uniformly{' on a log scale' if log else ''} "
                        f"over mu ± {NORMAL_WIDTH:g} sigma{' (of the log)' if log else ''}: {low:.4g} to {high:.4g}")
        said += f" mu={mu} sigma={sigma}"
    elif base == "beta":
        low, high, log = 0.0, 1.0, False
        a, b = shown(definition.get("a", 1)), shown(definition.get("b", 1))
        warnings.append(f"{field}: {kind}(a={a}, b={b}) searched "
                        "uniformly over its range, 0 to 1")
    else:
        low, high = _number(definition, "min", file, field), _number(definition, "max", file, field)
        said += f" min={low} max={high}"
        if low >= high:
            raise InputError(f"min must be < max, got min={low}, max={high}", file=file, field=f"{field}.min")
        log = "log" in base
        if base in ("log_uniform", "inv_log_uniform"):  # bounds are natural logs of the value (of 1/value)
            low, high = ((_exp(low, file, field), _exp(high, file, field)) if base == "log_uniform"
                         else (_exp(-high, file, field), _exp(-low, file, field)))
            low, high = _tidy(low), _tidy(high)
            said += " (natural-log bounds)"
        if base.startswith("inv_"):
            said += ": 1/value log-uniform, the same as value log-uniform"
        if log and low <= 0:
            raise InputError(f"a log-uniform range needs min > 0, got {low}", file=file, field=f"{field}.min")
    ints = base == "int_uniform" or (step is not None and float(step).is_integer()
                                     and all(float(v).is_integer() for v in (low, high)))
    param: dict[str, Any] = {"type": "int" if ints else "float"}
    if ints:
        low, high = math.ceil(low), math.floor(high)
    param["low"], param["high"] = (int(low), int(high)) if ints else (float(low), float(high))
    if log:
        param["log"] = True
        if step is not None and not (ints and step == 1):
            warnings.append(f"{field}: q={step} not carried over: a tui-tuner log-scaled range has no step")
    elif step is not None and not (ints and step == 1):
        step = int(step) if ints else float(step)
        span = param["high"] - param["low"]
        if span / step > MAX_STEPS:
            raise InputError(f"q={step} makes more than {MAX_STEPS:,} steps of the range {param['low']} to "
                             f"{param['high']}; give a larger q", file=file, field=f"{field}.q")
        count = math.floor(span / step + 1e-9)
        if count < 1:
            raise InputError(f"q={step} is wider than the range {param['low']} to {param['high']}", file=file,
                             field=f"{field}.q")
        if abs(count * step - span) > 1e-9 * max(1.0, abs(span)):
            param["high"] = param["low"] + count * step if ints else round(param["low"] + count * step, 12)
            warnings.append(f"{field}: high lowered to {param['high']} so that step q={step} divides the range")
        param["step"] = step
    return kind, param, said


def _tidy(bound: float) -> float:
    """A computed bound (exp of a log bound, mu - 2 sigma) without float noise: 0.94, not 0.9400000000000001."""
    return float(f"{bound:.6g}")


def _choices(definition: dict, file: str, field: str, warnings: list[str]) -> dict:
    values = definition.get("values")
    if not isinstance(values, list) or not values:
        raise InputError(f"must be a non-empty list, got {shown(values)}", file=file, field=f"{field}.values")
    if len(values) > MAX_CHOICES:
        raise InputError(f"holds {len(values):,} values; a parameter may have at most {MAX_CHOICES:,}", file=file,
                         field=f"{field}.values")
    if not all(isinstance(v, (str, int, float, bool, type(None))) for v in values):
        values = [v if isinstance(v, (str, int, float, bool, type(None)))
                  else _json_text(v, file, f"{field}.values[{i}]") for i, v in enumerate(values)]
        warnings.append(f"{field}.values: a list or mapping among them is a choice of its JSON text, which your "
                        f"program parses from --name=TEXT: {shown(values)}")
    if "probabilities" in definition:
        probabilities = _probabilities(definition["probabilities"], len(values), file, f"{field}.probabilities")
        warnings.append(f"{field}.probabilities: not carried over: tui-tuner draws every choice equally often "
                        f"(W&B's were {shown(probabilities)})")
    return {"type": "categorical", "choices": list(values)}


def _json_text(value: Any, file: str, field: str) -> str:
    """A list or mapping among a parameter's values as the JSON text the program is passed."""
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InputError(f"must be JSON: a string, a finite number, true/false, null or a list or mapping of them, "
                         f"got {shown(value)}", file=file, field=field) from None


def _probabilities(probabilities: Any, count: int, file: str, field: str) -> list:
    """W&B's weights of the values, checked as W&B checks them: one a value, none negative, summing to 1."""
    if not isinstance(probabilities, list) or len(probabilities) != count:
        raise InputError(f"must be a list of {count} numbers, one for each value, got {shown(probabilities)}",
                         file=file, field=field)
    for i, p in enumerate(probabilities):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise InputError(f"must be a number from 0 to 1, got {shown(p)}", file=file, field=f"{field}[{i}]")
    if abs(math.fsum(probabilities) - 1) > 1e-6:
        raise InputError(f"must sum to 1, got {math.fsum(probabilities):.6g}", file=file, field=field)
    return probabilities


def _check_shape(sweep: dict, file: str) -> None:
    """Refuse a sweep that holds a whole number no other tool reads (past 2^63); parse_yaml has already
    refused one that aliases make huge or endless, or that nests too deep."""
    stack = [(sweep, "")]
    while stack:
        value, field = stack.pop()
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2 ** 63:
            raise InputError(f"must be a number within ±2^63, got {shown(value)}", file=file, field=field or None)
        if isinstance(value, dict):
            stack.extend((item, _key_path(field, key)) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, f"{field}[{i}]") for i, item in enumerate(value))


def _key_path(field: str, key: Any) -> str:
    key = key if isinstance(key, str) and len(key) <= 80 else shown(key)
    return f"{field}.{key}" if field else key


def _metric(metric: Any, file: str, warnings: list[str]) -> tuple[str, str]:
    if metric is None:
        warnings.append("metric: none given (W&B allows it for grid and random); objective.metric is 'value': "
                        "name the metric your program prints")
        return "value", "minimize"
    if not isinstance(metric, dict) or not isinstance(metric.get("name"), str) or not metric["name"]:
        raise InputError("must be a mapping with a name (and goal: minimize or maximize)", file=file, field="metric")
    goal = metric.get("goal", "minimize")
    if goal not in ("minimize", "maximize"):
        raise InputError(f"must be minimize or maximize, got {shown(goal)}", file=file, field="metric.goal")
    for key in metric:
        if key not in ("name", "goal"):
            warnings.append(f"metric.{key}: not carried over (tui-tuner runs its whole trial budget)")
    return metric["name"], goal


def _pruner(early: Any, file: str, warnings: list[str]) -> dict | None:
    """early_terminate hyperband -> successive halving with the same first rung and reduction factor."""
    if early is None:
        return None
    if not isinstance(early, dict) or early.get("type") != "hyperband":
        raise InputError(f"must be {{type: hyperband, ...}}, the only kind W&B has, got {shown(early)}", file=file,
                         field="early_terminate")
    eta = _whole(early, "eta", 3, 2, file)
    if "min_iter" in early:
        first = _whole(early, "min_iter", None, 1, file)
    elif "max_iter" in early:
        top, s = _whole(early, "max_iter", None, 1, file), _whole(early, "s", 0, 0, file)
        first = top / eta ** s if s < 64 else 0  # past 63 halvings of a top of at most 2^53 nothing is left
    else:
        raise InputError("needs min_iter, or max_iter and s", file=file, field="early_terminate")
    if first < 1:
        raise InputError(f"the first bracket, max_iter / eta^s, must be at least 1 iteration, got {first:.3g}",
                         file=file, field="early_terminate")
    for key in early:
        if key not in ("type", "eta", "min_iter", "max_iter", "s"):
            warnings.append(f"early_terminate.{key}: not carried over (successive halving has no such setting)")
    if "min_iter" not in early:
        warnings.append(f"early_terminate: max_iter={early['max_iter']} and s={early.get('s', 0)} make the first "
                        f"rung {int(first)} (max_iter / eta^s): successive halving goes on from it")
    return {"name": "successive_halving", "min_resource": int(first), "reduction_factor": eta}


def _whole(early: dict, key: str, default: int | None, least: int, file: str) -> int:
    """A whole number of early_terminate from `least` to 2^53 (3.0 is taken as 3)."""
    value = early.get(key, default)
    if (isinstance(value, float) and value.is_integer() and abs(value) <= MAGNITUDE):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAGNITUDE:
        raise InputError(f"must be a whole number from {least} to 2^53, got {shown(value)}", file=file,
                         field=f"early_terminate.{key}")
    return value


def _command(sweep: dict, names: list[str], file: str, warnings: list[str]) -> str:
    """The command a trial runs: W&B's `command` list with its macros expanded, or `python PROGRAM`."""
    program = sweep.get("program")
    if program is not None and (not isinstance(program, str) or not program.strip()):
        raise InputError(f"must be the path of your training script, got {shown(program)}", file=file,
                         field="program")
    command = sweep.get("command")
    if command is None:
        if program is None:
            raise InputError("is missing: a sweep names the script it runs with program (or command)", file=file,
                             field="program")
        return shlex.join([DEFAULT_INTERPRETER, program] if program.endswith(".py") else [program])
    if not isinstance(command, list) or not all(isinstance(part, str) for part in command):
        raise InputError(f"must be a list of words, got {shown(command)}", file=file, field="command")
    for where, word in [("program", program or ""), *((f"command[{i}]", part) for i, part in enumerate(command))]:
        if not word.isprintable():  # a newline or NUL in a program's name runs nothing
            raise InputError(f"holds a control character, got {shown(word)}", file=file, field=where)
    words: list[str] = []
    for i, part in enumerate(command):
        if part == "${env}":
            continue  # /usr/bin/env: the program runs in the environment as it is
        if part == "${interpreter}":
            words.append(DEFAULT_INTERPRETER)
        elif part == "${program}":
            if program is None:
                raise InputError("uses ${program} but the sweep names no program", file=file, field="command")
            words.append(program)
        elif part in ("${args}", "${args_no_boolean_flags}") and i == len(command) - 1:
            continue  # each param follows the command as --name=value: the command objective's own way
        elif part in ("${args}", "${args_no_boolean_flags}"):
            words.extend(f"--{name}={{{name}}}" for name in names)
        elif part == "${args_no_hyphens}":
            words.extend(f"{name}={{{name}}}" for name in names)
        elif part.startswith("${") and part.endswith("}"):
            warnings.append(f"command: {part} not carried over; each param follows the command as --name=value")
        else:
            words.append(part.replace("{", "{{").replace("}", "}}"))  # a brace of its own, not a placeholder
    if not words:
        raise InputError(f"names no program to run, got {shown(command)}", file=file, field="command")
    if "${args_no_boolean_flags}" in command:
        warnings.append("command: ${args_no_boolean_flags} passes true/false as --name=True/False, as ${args} does")
    return shlex.join(words)


def study_yaml(study: dict, warnings: list[str], comments: dict[str, str], source: str,
               description: str | None = None, written: list[str] = ()) -> str:
    """The study file's text: a head comment naming the sweep, keeping its `description` and the comments
    its author wrote outside any parameter (`written`), and listing every warning; beside each param a
    comment saying what W&B had (and what its author wrote there); params one a line. Checked to read back
    as `study`."""
    head = [f"Imported from the W&B sweep {source} by 'tui-tuner import wandb'."]
    head += [f"W&B description: {line}" for line in (description or "").splitlines()]
    head += [f"from the sweep: {line}" for line in written]
    head += [f"{key}: {text}" for key, text in comments.items() if key.startswith("objective.fixed.")]
    head += [f"note: {w}" for w in warnings]
    document = CommentedMap()
    for key, value in study.items():
        document[key] = _flow_params(value, comments) if key == "params" else value
    document.yaml_set_start_comment("\n".join(head))
    yaml = YAML()
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(document, stream)
    text = stream.getvalue()
    if parse_yaml(text)[1] != study:  # a value ruamel spells in a way our loader reads otherwise
        text = "".join(f"# {line}\n" for line in head) + pyyaml.safe_dump(study, sort_keys=False, width=110)
    return text


def _flow_params(params: dict, comments: dict[str, str]) -> CommentedMap:
    out = CommentedMap()
    for name, definition in params.items():
        flow = CommentedMap()
        for key, value in definition.items():
            if isinstance(value, list):
                value = CommentedSeq(value)
                value.fa.set_flow_style()
            flow[key] = value
        flow.fa.set_flow_style()
        out[name] = flow
        out.yaml_add_eol_comment(comments[name], name)
    return out


def read_sweep(path: Path) -> tuple[str, list[str]]:
    """(the study file's text, what was not carried over) for the W&B sweep file at `path`."""
    file = str(path)
    text = read_input(path, what="sweep file", limit=SWEEP_LIMIT)
    try:
        root, sweep = parse_yaml(text, max_values=MAX_VALUES)
    except InputError as err:
        raise err.located(file=file) from None
    _check_shape(sweep, file)
    head, by_field = sweep_comments(text, root)
    study, warnings, comments = sweep_to_study(sweep, file=file, stem=path.stem, written=by_field)
    description = sweep.get("description")
    text = study_yaml(study, warnings, comments, path.name, description if isinstance(description, str) else None,
                      head)
    return text, warnings
