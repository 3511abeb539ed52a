"""Study file (YAML or JSON) -> StudySpec, checked in full before any trial runs.

Every mistake is one InputError naming the file, the line where YAML knows it, and the field:
`study.yaml:7: objective.metric: unknown scikit-learn scorer 'acuracy'`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError
from .files import read_input
from .executors import check_dask_address
from .objectives import KINDS, build_objective, study_direction
from .options import Number, Option, Whole, check_options, checked
from .pruners import pruner_from_yaml
from .searchers import check_strategy, make_searcher
from .space import SearchSpace

TOP_KEYS = ("name", "objective", "search", "params", "pruner")
SETTINGS = {  # the search section's own numbers; the strategy's options sit beside them
    "trials": Option(None, Whole(1), "trials to run (default 20; grid: every point)"),
    "time_budget": Option(None, Number(0), "seconds after which no new trial starts"),
    "workers": Option(None, Whole(1), "trials at once, each in a process of its own (default: the CPU count)"),
    "seed": Option(0, Whole(0), "the same seed and workers give the same trials"),
    "trial_timeout": Option(None, Number(0), "seconds after which a running trial is stopped as failed"),
}
EXECUTOR_HELP = ("where trials run: pool (processes on this machine), a dask scheduler's address (tcp://HOST:PORT) "
                 "or local:N (a dask cluster of N processes here)")
SEARCH_KEYS = ("strategy", *SETTINGS, "trial_memory", "ask_share", "executor")
ASK_SHARE = 0.05  # the overhead governor's default: asks may take 5% of the study's time
DEFAULT_TRIALS = 20  # when the file sets neither trials nor time_budget (grid: its size instead)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,39}\Z")  # a key an error line may quote back
_QUOTED = re.compile(r" ?'([^']*)'")  # a quote in PyYAML's message: "found undefined alias 'x'"
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B)?\s*$", re.IGNORECASE)  # 600MB, 4GB, 1.5GiB
MIN_TRIAL_MEMORY = 100 << 20  # a worker with numpy loaded takes about half of it
MAX_DEPTH = 32  # mappings and lists inside each other in a study file (a real one nests about 5 deep)
MAX_VALUES = 2_000_000  # values in a study file with its aliases expanded: a billion laughs is refused unbuilt
MAX_DIGITS = 100  # characters of an integer written in a study file
MERGE_TAG = "tag:yaml.org,2002:merge"


class NotYaml(InputError):
    """Text that is not YAML at all (a value typed in a form may be plain text; a study file may not)."""


@dataclass(frozen=True)
class Settings:
    """How a study runs: the file's `search:` section, which command-line flags may override."""

    strategy: str
    strategy_options: dict
    trials: int | None
    time_budget: float | None
    workers: int | None
    seed: int
    trial_timeout: float | None
    trial_memory: int | None = None  # bytes a trial's processes may hold; past it the trial fails
    ask_share: float | None = ASK_SHARE  # the governor's share of the study's time for asks; None: no governor
    dask: str | None = None  # where trials run: None, the process pool; else local, local:N or a scheduler address

    def override(self, **changes: Any) -> "Settings":
        """Apply command-line flags (None means not given); a new strategy drops the old one's options."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if changes.get("strategy", self.strategy) != self.strategy:
            changes.setdefault("strategy_options", {})
        return replace(self, **changes)

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class StudySpec:
    name: str
    path: Path | None  # the study file, None for a spec built from a dict
    raw: dict
    space: SearchSpace
    objective: Any
    settings: Settings
    base_dir: Path  # where relative paths in the file (train.py, data.csv) are found
    pruner: dict | None = None  # checked `pruner:` section; None: trials always run to the end


class StudyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (libyaml's when installed), reading floats as YAML 1.2 does: `1e-4` is a number."""


StudyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StudyLoader.add_implicit_resolver(  # YAML 1.2 core schema floats, plus 1.1's 1_000.5 and .inf/.nan spellings
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                  |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                  |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def parse_yaml(text: str, *, max_values: int = MAX_VALUES) -> tuple[yaml.Node | None, Any]:
    """(node tree, value) of a study file, parsed once. Text that is not YAML, a key written twice in one
    mapping, a tagged value that does not fit its tag (`!!int x`) is an InputError with its line."""
    loader = StudyLoader(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            _refuse_bombs(root, max_values)
            _refuse_duplicate_keys(root)
        return root, loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (column {mark.column + 1})" if mark else ""
        raise NotYaml(f"not valid YAML/JSON: {_yaml_problem(err)}{where}",
                      line=mark.line + 1 if mark else None) from None
    except RecursionError:
        raise InputError("not valid YAML/JSON: nested too deeply") from None
    except (ValueError, TypeError, AttributeError, OverflowError):  # PyYAML's constructors of !!int, !!timestamp...
        raise InputError("not valid YAML/JSON: a value that cannot be built (a number of over 4,300 digits, a "
                         "date like 2001-13-45, a tag such as !!int on text)") from None
    finally:
        loader.dispose()


def _yaml_problem(err: yaml.YAMLError) -> str:
    """PyYAML's words for what is wrong, less what they quote from the file (an alias, a tag: the file may
    be a secret someone linked a study file to); a quoted token (`','`, `'<stream end>'`) stays."""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    if context and problem.startswith("but "):  # "expected a single document in the stream but found another"
        problem = f"{context} {problem}"
    return _QUOTED.sub(lambda m: m[0] if len(m[1]) == 1 or re.fullmatch(r"<[a-z ]+>|\\.", m[1]) else "",
                       problem).strip()


def parse_value(text: str) -> Any:
    """A value typed on the command line (`--set NAME=VALUE`) or in a form, read as a study file's values are
    (`1e-4` a number) and within the same bounds; text that is no YAML stays the text, for the check that
    follows to refuse. An alias bomb or a value nested too deeply is an InputError."""
    try:
        return parse_yaml(text)[1]
    except NotYaml:
        return text


def _children(node: yaml.Node) -> list[tuple[yaml.Node, str | None]]:
    """(child, its key's text or None) of a node of a composed YAML tree; a merge key (`<<`) has none."""
    if isinstance(node, yaml.MappingNode):
        return [item for key, value in node.value for item in (
            (key, None),
            (value, key.value if isinstance(key, yaml.ScalarNode) and key.tag != MERGE_TAG else None))]
    if isinstance(node, yaml.SequenceNode):
        return [(item, None) for item in node.value]
    return []


def _refuse_bombs(root: yaml.Node, max_values: int) -> None:
    """Refuse, before any value is built, a tree that would build too much: aliases that expand past
    `max_values` values (a billion laughs, a merge-key bomb), an alias inside the value it names (a cycle),
    nesting past MAX_DEPTH, an integer of more than MAX_DIGITS characters. Each shared node is walked once."""
    size: dict[int, int] = {}  # id(node) -> values it holds with aliases expanded, itself included
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()  # on the path from the root to the node being walked: an alias to one is a cycle
    stack: list[tuple[yaml.Node, str, bool]] = [(root, "", False)]
    while stack:
        node, path, finished = stack.pop()
        key, line = id(node), node.start_mark.line + 1
        if finished:
            open_nodes.discard(key)
            children = [child for child, _ in _children(node)]
            size[key] = 1 + sum(size[id(child)] for child in children)
            depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
            if size[key] > max_values:
                raise InputError(f"holds over {max_values:,} values once its YAML aliases are expanded; write them "
                                 "out, or use fewer aliases", field=_shown_path(path), line=line)
            if depth[key] > MAX_DEPTH:
                raise InputError(f"nests lists and mappings more than {MAX_DEPTH} deep", field=_shown_path(path),
                                 line=line)
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise InputError("holds an alias to a value that contains it (a value without end)",
                             field=_shown_path(path), line=line)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_DIGITS:
                raise InputError(f"an integer of {len(node.value):,} characters; at most {MAX_DIGITS}",
                                 field=_shown_path(path), line=line)
            size[key], depth[key] = 1, 0
            continue
        open_nodes.add(key)
        stack.append((node, path, True))
        stack.extend((child, f"{path}.{name}" if path and name else name or path, False)
                     for child, name in _children(node))



def _shown_path(path: str) -> str | None:
    """A field path short enough for one line (a file nested 300 deep has a path of thousands of characters)."""
    return (path if len(path) < 100 else f"{path[:60]}...{path[-30:]}") or None

def _refuse_duplicate_keys(root: yaml.Node) -> None:
    """YAML lets the last of two equal keys win silently; a study file must say which one it means."""
    stack, seen_nodes = [(root, "")], set()
    while stack:  # iterative, with shared (aliased) nodes visited once: deep or bomb-like files stay cheap
        node, path = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[tuple, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != MERGE_TAG:
                    where = f"{path}.{key.value}" if path else key.value
                    line = key.start_mark.line + 1
                    first = lines.get((key.tag, key.value))
                    if first is not None:
                        both = f"line {line}" if first == line else f"lines {first} and {line}"
                        raise InputError(f"is given twice, on {both}; keep one", field=where, line=line)
                    lines[key.tag, key.value] = line
                    stack.append((value, where))
                else:
                    stack.append((value, path))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, path) for item in node.value)


def load_spec(path: str | Path, base_dir: str | Path | None = None) -> StudySpec:
    """Read and check a study file; `base_dir` overrides its folder (a snapshot in a study directory)."""
    path = Path(path)
    file = str(path)
    root, raw = _read_study_file(path)
    try:
        return spec_from_dict(raw, path=path, base_dir=Path(base_dir) if base_dir else path.parent.resolve(),
                              file=file)
    except InputError as err:
        if err.line is None and err.field and err.file == file:
            err.line = _line_of(root, err.field)
        raise


def load_raw(path: str | Path) -> Any:
    """A study file parsed and nothing more (no objective built, no code located): what a study directory's
    snapshot says, read as data."""
    return _read_study_file(Path(path))[1]


def load_params(path: str | Path) -> SearchSpace:
    """Only the search space of a study file: what analysing a study needs, so a study whose objective code
    has moved away can still be analysed."""
    file = str(path)
    root, raw = _read_study_file(Path(path))
    if not isinstance(raw, dict) or "params" not in raw:
        raise InputError("has no params mapping", file=file)
    try:
        return SearchSpace.from_dict(raw["params"])
    except InputError as err:
        located = err.located(file=file, field_prefix="params")
        located.line = _line_of(root, located.field) if located.field else None
        raise located from None


def _read_study_file(path: Path) -> tuple[yaml.Node | None, Any]:
    """(node tree, value) of a study file, or an InputError naming it and what kept it from being read."""
    file = str(path)
    text = read_input(path, what="study file")
    try:
        root, raw = parse_yaml(text)
    except InputError as err:
        raise err.located(file=file) from None
    return root, raw


def spec_from_dict(raw: Any, *, path: Path | None = None, base_dir: Path | None = None,
                   file: str | None = None) -> StudySpec:
    """Check a parsed study file; errors name `file` and the field."""
    if not isinstance(raw, dict):
        raise InputError(f"must be a mapping with {', '.join(TOP_KEYS)}", file=file)
    for key in raw:
        if key not in TOP_KEYS and isinstance(key, str) and WORD.match(key):
            raise InputError(f"unknown key {key!r}; a study file has {', '.join(TOP_KEYS)}", file=file, field=key)
        if key not in TOP_KEYS:  # not echoed: the file may be a secret someone linked a study file to
            raise InputError(f"has a key that is not one of {', '.join(TOP_KEYS)}: not a study file", file=file)
    name = raw.get("name", path.stem if path else "study")
    if not isinstance(name, str) or not NAME.match(name):
        raise InputError(f"must be letters, digits, '.', '_' or '-' (it names the study directory), got {name!r}",
                         file=file, field="name")
    if "params" not in raw or not raw["params"]:
        raise InputError("needs at least one parameter to tune", file=file, field="params")
    try:
        space = SearchSpace.from_dict(raw["params"])
    except InputError as err:
        raise err.located(file=file, field_prefix="params") from None
    if "objective" not in raw:
        raise InputError(f"is missing: {KINDS}", file=file, field="objective")
    base_dir = base_dir or (path.parent if path else Path.cwd())
    objective = build_objective(raw["objective"], base_dir=base_dir, file=file)
    check = getattr(objective, "check_params", None)
    if check:
        check(list(space.names), file=file)
    check_fixed = getattr(objective, "check_fixed", None)
    if check_fixed:
        check_fixed(file=file)
    search = raw.get("search") or {}
    if not isinstance(search, dict):
        raise InputError("must be a mapping (strategy, trials, workers, seed, ...)", file=file, field="search")
    strategy = search.get("strategy", "random")
    numbers = check_options(SETTINGS, search, prefix="search", file=file)
    options = {k: v for k, v in search.items() if k not in SEARCH_KEYS}
    if not isinstance(strategy, str):
        raise InputError(f"must be a strategy name, got {strategy!r}", file=file, field="search.strategy")
    try:
        check_strategy(strategy, options)  # `search: {direction: ...}` must not reach make_searcher's own arguments
        make_searcher(strategy, space, seed=numbers["seed"], direction=study_direction(objective), **options)
    except InputError as err:
        raise err.located(file=file) from None
    if numbers["trials"] is None and numbers["time_budget"] is None and strategy != "grid":
        numbers["trials"] = DEFAULT_TRIALS
    settings = Settings(strategy=strategy, strategy_options=options, **numbers, trial_memory=_memory(search, file),
                        ask_share=_ask_share(search, file), dask=_dask(search, file))
    return StudySpec(name=name, path=path, raw=raw, space=space, objective=objective, settings=settings,
                     base_dir=base_dir.resolve(), pruner=pruner_from_yaml(raw.get("pruner"), file=file))


def _ask_share(section: dict, file: str | None) -> float | None:
    """search.ask_share: a share of the study's time in (0, 1] (default 0.05), or null to turn the overhead
    governor off."""
    if "ask_share" not in section:
        return ASK_SHARE
    if section["ask_share"] is None:
        return None
    return checked(Number(0, 1), section["ask_share"], field="search.ask_share", file=file)


def _dask(section: dict, file: str | None) -> str | None:
    """search.executor: `{dask: ADDRESS}` (local, local:N or a scheduler's address) runs the trials on
    dask.distributed; `pool` or left out, the process pool on this machine."""
    value = section.get("executor", "pool")
    if value in (None, "pool"):
        return None
    if not isinstance(value, dict) or list(value) != ["dask"]:
        raise InputError(f"must be pool or {{dask: ADDRESS}} (ADDRESS: local, local:N or tcp://HOST:PORT), "
                         f"got {value!r}", file=file, field="search.executor")
    return check_dask_address(value["dask"], field="search.executor.dask", file=file)


def _memory(section: dict, file: str | None) -> int | None:
    """search.trial_memory in bytes; units count in 1024s (600MB = 600 MiB), as `free -m` does."""
    value = section.get("trial_memory")
    if value is None:
        return None
    match = SIZE.match(value) if isinstance(value, str) else None
    if not match:
        raise InputError(f"must be a size with a unit, like 600MB or 4GB, got {value!r}", file=file,
                         field="search.trial_memory")
    size = int(float(match[1]) * 1024 ** ("KMGT".index(match[2].upper()) + 1))
    if size < MIN_TRIAL_MEMORY:
        raise InputError(f"must be at least {MIN_TRIAL_MEMORY >> 20}MB, got {value!r}", file=file,
                         field="search.trial_memory")
    return size


def _line_of(root: yaml.Node | None, field: str) -> int | None:
    """The 1-based line of `a.b.c` in a composed YAML tree: the deepest key that exists."""
    node, line = root, None
    for part in field.split("."):
        if not isinstance(node, yaml.MappingNode):
            break
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                node, line = value, key.start_mark.line + 1
                break
        else:
            break
    return line
