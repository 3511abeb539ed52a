"""How tui-tuner holds up under hostile input and faults, measured on the real command line.

Not a speed benchmark: the figures behind "trustworthy". Four suites, each run against
`python -m tui_tuner.cli run` in a scratch directory:

- files:  hostile study files (broken YAML, wrong types, impossible ranges, huge grids, device files,
          code that must not run at load, ...). Clean means: exit 0, 1 or 2 within the time limit, no
          Python traceback, and for exit 1 or 2 a last stderr line starting "tui-tuner:" (exit 2: that one
          line only). A run that exits 0 must leave a journal with every trial ended.
- faults: objectives that misbehave (raise, exit, segfault, hang, leave children behind, return what is
          not a number, eat memory, flood stdout, ...). Survived means: the study ends cleanly, every trial
          has exactly one ending in the journal (failed ones with a reason of at most 1,000 characters),
          and no process the objective started is still alive.
- kills:  kill -9 of the study process at random moments, then --resume to the end: no finished trial lost,
          none finished twice, the budget met exactly, no worker left behind.
- disk:   a study on a 64 KB tmpfs (needs root and mount): exits 1 within seconds with one line; given room,
          the resume command on that line finishes the study, no trial twice.

    python bench/robustness.py                 # everything (about 10 minutes on 2 cores)
    python bench/robustness.py files faults    # some suites
    python bench/robustness.py --kills 18 --seed 1 -v
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT = 90  # seconds a single run may take before it counts as a hang
# files the user meant to work (they must run, exit 0) and files that must be refused before any trial (exit 2)
MUST_RUN = {"yaml 1.1 float", "utf-8 bom", "grid over 14 floats", "grid 14 floats, shuffled", "200 params",
            "name = " + "n" * 40, "search.workers = 64", "search.workers = 1000000000"}
MUST_REFUSE = {"duplicate top key", "duplicate param", "objective.fixed = {'C': 'notanumber'}",
               "objective.fixed = {'max_iter': -5}", "search.name = x", "search.direction = maximize",
               "search.space = {}", "objective.dataset = {'csv': '/dev/zero', 'target': 'y'}"}
BASE_MODEL = {
    "name": "hostile",
    "objective": {"model": "sklearn.linear_model.LogisticRegression", "dataset": "iris", "metric": "accuracy",
                  "validation": {"kfold": 3}, "fixed": {"max_iter": 200}},
    "search": {"strategy": "random", "trials": 2, "workers": 1, "seed": 0},
    "params": {"C": {"type": "float", "low": 0.01, "high": 10.0, "log": True}},
}
BASE_PYTHON = {
    "name": "hostile-py",
    "objective": {"python": "obj.py:f", "metric": "value", "direction": "minimize"},
    "search": {"strategy": "random", "trials": 2, "workers": 1, "seed": 0},
    "params": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
}
OBJ_PY = "def f(params, trial):\n    return (params['x'] - 0.3) ** 2\n"


def _cap_memory() -> None:
    """A study file that builds an unbounded grid must not take this machine down with it."""
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))


def run(args: list[str], cwd: Path, timeout: float = TIMEOUT, env: dict | None = None):
    """(exit code or 'hang', stdout, stderr) of `tui-tuner ARGS`."""
    try:
        p = subprocess.run([sys.executable, "-m", "tui_tuner.cli", *args], cwd=cwd, capture_output=True,
                           text=True, errors="replace", timeout=timeout, env={**os.environ, **(env or {})},
                           stdin=subprocess.DEVNULL, preexec_fn=_cap_memory)
    except subprocess.TimeoutExpired as e:
        text = [x.decode(errors="replace") if isinstance(x, bytes) else (x or "") for x in (e.stdout, e.stderr)]
        return "hang", *text
    return p.returncode, p.stdout, p.stderr


def verdict(code, out: str, err: str) -> str | None:
    """None when the run ended cleanly, else what was wrong."""
    if code == "hang":
        return "hang"
    if "Traceback (most recent call last)" in out + err:
        return "traceback"
    if code not in (0, 1, 2):
        return f"exit {code}"
    lines = [line for line in err.splitlines() if line.strip()]
    if code in (1, 2) and (not lines or not lines[-1].startswith("tui-tuner:")):
        return "no one-line error"
    if code == 2 and len(lines) != 1:
        return f"exit 2 with {len(lines)} stderr lines"
    return None


def journal_endings(study_dir: Path) -> dict[int, list[dict]]:
    """trial number -> its ending records (finished, failed, pruned), in journal order."""
    ends: dict[int, list[dict]] = {}
    path = study_dir / "journal.jsonl"
    if not path.exists():
        return ends
    for line in path.read_text(errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("event") in ("finished", "failed", "pruned"):
            ends.setdefault(rec["number"], []).append(rec)
    return ends


# ------------------------------------------------------------------------------------------------ files

def _set(doc: dict, dotted: str, value) -> dict:
    doc = json.loads(json.dumps(doc))
    *path, last = dotted.split(".")
    node = doc
    for key in path:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node
    if value is _DELETE:
        node.pop(last, None)
    else:
        node[last] = value
    return doc


_DELETE = object()


def hostile_files(root: Path) -> list[tuple[str, str]]:
    """(label, file text) of each hostile study file; files it points at are written under `root`."""
    import yaml

    (root / "obj.py").write_text(OBJ_PY)
    (root / "syntax.py").write_text("def f(params, trial):\n    return (\n")
    (root / "marker_pkg").mkdir(exist_ok=True)
    (root / "marker_pkg" / "__init__.py").write_text(
        "open('IMPORTED_AT_LOAD', 'w').write('x')\nclass Model:\n    def fit(self): pass\n"
        "    def get_params(self): return {}\n")
    (root / "marker_mod.py").write_text("open('IMPORTED_AT_LOAD', 'w').write('x')\ndef f(p, t):\n    return 1.0\n")
    (root / "adir").mkdir(exist_ok=True)
    (root / "afile").write_text("not a directory\n")
    (root / "tiny.csv").write_text("a,b,y\n1,2,0\n")
    (root / "text.csv").write_text("a,b,y\n" + "".join(f"{i},x{i},{i % 2}\n" for i in range(30)))
    outside = Path(tempfile.mkdtemp(prefix="outside-"))
    (outside / "evil.py").write_text("open('/tmp/IMPORTED_AT_LOAD_OUTSIDE', 'w').write('x')\n"
                                     "def f(p, t):\n    return 1.0\n")

    def dump(doc) -> str:
        return yaml.safe_dump(doc, sort_keys=False)

    cases: list[tuple[str, str]] = [
        ("empty file", ""), ("only spaces", "   \n\t\n"), ("binary", "\x00\x01\x02\xff garbage"),
        ("a list", "[1, 2, 3]\n"), ("a string", "just words\n"), ("unclosed brace", "{\n"),
        ("unclosed list", "params: [\n"), ("tab indent", "name: x\nparams:\n\tx: 1\n"),
        ("deep nesting", "a: " + "[" * 5000 + "]" * 5000 + "\n"),
        ("duplicate top key", dump(BASE_MODEL) + "name: again\n"),
        ("duplicate param", dump(BASE_PYTHON).replace("params:\n", "params:\n  x: {type: int, low: 0, high: 3}\n")),
        ("yaml bomb", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                      "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nname: [*g, *g, *g, *g, *g, *g, *g]\n"),
        ("bomb in params", "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
                           "e: &e [*d, *d, *d, *d, *d, *d, *d, *d]\n" + dump(_set(BASE_PYTHON, "params.x", {
                               "type": "categorical", "choices": "PLACEHOLDER"})).replace("PLACEHOLDER", "*e")),
        ("10 MB comment", "# " + "x" * 10_000_000 + "\n" + dump(BASE_PYTHON)),
        ("unknown top key", dump({**BASE_MODEL, "extra": 1})),
        ("yaml 1.1 float", dump(BASE_PYTHON).replace("low: 0.0", "low: 1e-4")),
        ("utf-8 bom", "\ufeff" + dump(BASE_PYTHON)),
    ]
    mutations = [
        ("name", "n" * 300), ("name", "../../etc/x"), ("name", ""), ("name", 5), ("name", "a/b"), ("name", "név"),
        ("objective", None), ("objective", []), ("objective", "svc"), ("objective", {}),
        ("objective.model", 5), ("objective.model", "this.Foo"), ("objective.model", "os.system"),
        ("objective.model", "sklearn.svm.NotAClass"), ("objective.model", "sklearn"),
        ("objective.model", "no_such_module.Cls"), ("objective.model", "marker_pkg.Model"),
        ("objective.dataset", "/etc/passwd"), ("objective.dataset", {"csv": "/etc/passwd", "target": "y"}),
        ("objective.dataset", {"csv": "/dev/zero", "target": "y"}), ("objective.dataset", {"csv": "missing.csv", "target": "y"}),
        ("objective.dataset", {"csv": "adir", "target": "y"}), ("objective.dataset", {"csv": "tiny.csv", "target": "y"}),
        ("objective.dataset", {"csv": "text.csv", "target": "y"}), ("objective.dataset", {"name": "moons", "n_samples": -5}),
        ("objective.dataset", {"name": "moons", "n_samples": 10**12}), ("objective.dataset", 7),
        ("objective.metric", "acuracy"), ("objective.metric", 5), ("objective.direction", "minimize"),
        ("objective.validation", {"kfold": 1}), ("objective.validation", {"kfold": 1000}),
        ("objective.validation", {"holdout": 1.5}), ("objective.validation", {"holdout": 0}),
        ("objective.validation", "kfold"), ("objective.test_fraction", 0.99), ("objective.test_fraction", -1),
        ("objective.fixed", {"C": "notanumber"}), ("objective.fixed", {"nonexistent": 1}),
        ("objective.fixed", {"max_iter": -5}), ("objective.fixed", [1, 2]), ("objective.scaler", "weird"),
        ("objective.epochs", 0), ("objective.epochs", 5),
        ("search", "fast"), ("search.strategy", "annealing"), ("search.strategy", 5), ("search.trials", -1),
        ("search.trials", 0), ("search.trials", "ten"), ("search.trials", 2.5), ("search.workers", 64),
        ("search.workers", 0), ("search.workers", 10**9), ("search.seed", -1), ("search.seed", 2**70),
        ("search.seed", "x"), ("search.trial_timeout", 0), ("search.trial_timeout", -1),
        ("search.trial_timeout", 1e-9), ("search.time_budget", 0), ("search.name", "x"),
        ("search.direction", "maximize"), ("search.space", {}), ("search.default_num", 1),
        ("search.shuffle", "yes"), ("search.trial_memory", "lots"), ("search.trial_memory", "1KB"),
        ("params", {}), ("params", None), ("params", []), ("params.C", None), ("params.C", {"type": "float"}),
        ("params.C", {"type": "float", "low": 5, "high": 1}), ("params.C", {"type": "float", "low": "0.1", "high": 1}),
        ("params.C", {"type": "float", "low": float("nan"), "high": 1}),
        ("params.C", {"type": "float", "low": 0, "high": float("inf")}),
        ("params.C", {"type": "float", "low": 0, "high": 1, "log": True}),
        ("params.C", {"type": "float", "low": 0.1, "high": 1, "step": 0}),
        ("params.C", {"type": "float", "low": 0.1, "high": 1, "step": 0.7}),
        ("params.C", {"type": "int", "low": 1.5, "high": 3}), ("params.C", {"type": "categorical", "choices": []}),
        ("params.C", {"type": "categorical", "choices": "abc"}),
        ("params.C", {"type": "categorical", "choices": [{"a": 1}]}),
        ("params.C", {"type": "categorical", "choices": [1, 1]}),
        ("params.C", {"type": "float", "low": 0.1, "high": 1, "when": {"nope": 1}}),
        ("params.C", {"type": "bogus"}), ("params.1bad", {"type": "float", "low": 0, "high": 1}),
        ("params.C", {"type": "float", "low": 0.1, "high": 1, "grid": list(range(1000))}),
        ("pruner", {"name": "bogus"}), ("pruner", 5), ("pruner", {"name": "median", "n_warmup": -1}),
    ]
    for dotted, value in mutations:
        cases.append((f"{dotted} = {str(value)[:40]}", dump(_set(BASE_MODEL, dotted, value))))
    grid14 = _set(BASE_PYTHON, "params", {f"x{i}": {"type": "float", "low": 0.0, "high": 1.0} for i in range(14)})
    grid14 = _set(grid14, "search.strategy", "grid")
    grid14 = _set(grid14, "objective.python", "obj.py:g")
    (root / "obj.py").write_text(OBJ_PY + "def g(params, trial):\n    return sum(params.values())\n")
    cases.append(("grid over 14 floats", dump(grid14)))
    cases.append(("grid 14 floats, shuffled", dump(_set(grid14, "search.shuffle", True))))
    cases.append(("200 params", dump(_set(_set(BASE_PYTHON, "params", {
        f"p{i}": {"type": "float", "low": 0, "high": 1} for i in range(200)}), "objective.python", "obj.py:g"))))
    python_mutations = [
        ("objective.python", "missing.py:f"), ("objective.python", "obj.py:nope"), ("objective.python", "obj.py"),
        ("objective.python", str(outside / "evil.py") + ":f"), ("objective.python", "os:system"),
        ("objective.python", "this:foo"), ("objective.python", "syntax.py:f"), ("objective.python", "marker_mod:f"),
        ("objective.python", "marker_pkg:Model"), ("objective.python", 5), ("objective.metric", ""),
        ("objective.direction", "sideways"), ("objective.test", "obj.py:missing"),
        ("objective.fixed", {"x": 1}), ("objective.fixed", "x"),
    ]
    for dotted, value in python_mutations:
        cases.append((f"py {dotted} = {str(value)[:40]}", dump(_set(BASE_PYTHON, dotted, value))))
    return cases


def suite_files(work: Path, verbose: bool) -> tuple[int, int, list[str]]:
    bad: list[str] = []
    cases = hostile_files(work)
    for i, (label, text) in enumerate(cases):
        path = work / f"case{i}.yaml"
        path.write_text(text, errors="surrogateescape")
        for marker in (work / "IMPORTED_AT_LOAD", Path("/tmp/IMPORTED_AT_LOAD_OUTSIDE")):
            marker.unlink(missing_ok=True)
        study = work / "studies" / f"case{i}"
        started = time.monotonic()
        code, out, err = run(["run", path.name, "--study", str(study)], work)
        problem = verdict(code, out, err)
        if problem is None and code == 0:
            ends = journal_endings(study)
            if not ends or any(len(v) != 1 for v in ends.values()):
                problem = "exit 0 without every trial ended once"
            elif not any(v[0]["event"] == "finished" for v in ends.values()):
                problem = "exit 0 though every trial failed"
        if problem is None and label in MUST_RUN and code != 0:
            problem = f"meant to run, got exit {code}"
        if problem is None and label in MUST_REFUSE and code != 2:
            problem = f"meant to be refused before any trial, got exit {code}"
        loaded_code = code == 2 or not (study / "journal.jsonl").exists()
        if problem is None and loaded_code and ((work / "IMPORTED_AT_LOAD").exists()
                                                 or Path("/tmp/IMPORTED_AT_LOAD_OUTSIDE").exists()):
            problem = "user code ran at load"
        last = (err.strip().splitlines() or [""])[-1][:150]
        if problem:
            bad.append(f"{label}: {problem} (exit {code}) {last}")
        if verbose:
            print(f"  {'ok ' if not problem else 'BAD'} {time.monotonic() - started:5.1f}s exit {code}  {label}: {last}")
    return len(cases), len(cases) - len(bad), bad


# ----------------------------------------------------------------------------------------------- faults

FAULTS = {
    "raises": "raise ValueError('bad config')",
    "keyboard interrupt": "raise KeyboardInterrupt",
    "system exit": "raise SystemExit(3)",
    "os._exit": "os._exit(7)",
    "segfault": "import ctypes; ctypes.string_at(0)",
    "kills itself": "os.kill(os.getpid(), signal.SIGKILL)",
    "hangs": "time.sleep(600)",
    "hangs with children": "spawn(3); time.sleep(600)",
    "returns, children left": "spawn(3); return 1.0",
    "children in own session": "spawn(2, start_new_session=True); return 1.0",
    "multiprocessing child": "import multiprocessing as mp; p = mp.get_context('fork').Process(target=time.sleep, "
                             "args=(600,)); p.start(); pids(p.pid); time.sleep(600)",
    "exec sleep": "os.execv('/bin/sleep', ['sleep', '600'])",
    "returns NaN": "return float('nan')",
    "returns inf": "return float('inf')",
    "returns None": "return None",
    "returns a string": "return 'good'",
    "returns 10 MB string": "return 'x' * 10_000_000",
    "returns a generator": "return (i for i in range(3))",
    "returns a lambda in a dict": "return {'value': 1.0, 'fn': lambda: 1}",
    "dict without metric": "return {'loss': 1.0}",
    "dict with text metric": "return {'value': 1.0, 'note': 'hello'}",
    "numpy scalar": "import numpy as np; return np.float32(0.5)",
    "numpy array": "import numpy as np; return np.ones(3)",
    "returns True": "return True",
    "eats memory": "b = bytearray(1500 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(3); return 1.0",
    "memory error": "raise MemoryError()",
    "recursion": "def r(n): return r(n + 1)\n    return r(0)",
    "floods stdout": "sys.stdout.write('y' * 20_000_000); return 1.0",
    "closes stdio": "os.close(1); os.close(2); return 1.0",
    "closes every fd": "os.closerange(3, 1024); return 1.0",
    "report not a number": "trial.report(0, loss='high'); return 1.0",
    "report bad step": "trial.report('one', loss=1.0); return 1.0",
    "100k reports": "[trial.report(i, loss=1.0 / (i + 1)) for i in range(100_000)]; return 1.0",
    "pruned, no report": "from tui_tuner import TrialPruned; raise TrialPruned()",
    "10 MB exception": "raise RuntimeError('e' * 10_000_000)",
    "non-daemon thread": "import threading; threading.Thread(target=time.sleep, args=(600,)).start(); return 1.0",
    "ignores SIGTERM, hangs": "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)",
    "chdir and sys.path": "os.chdir('/'); sys.path.clear(); return 1.0",
    "unpicklable exception": "class E(Exception):\n        def __reduce__(self): raise TypeError('no')\n"
                             "    raise E('x')",
    "forks and returns twice": "os.fork(); return 1.0",
}

FAULT_HEADER = '''\
import os, signal, subprocess, sys, time
PIDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pids.txt")

def pids(*numbers):
    with open(PIDS, "a") as f:
        f.write("".join(f"{n}\\n" for n in numbers))

def spawn(n, **kw):
    procs = [subprocess.Popen(["sleep", "600"], **kw) for _ in range(n)]
    pids(*(p.pid for p in procs))

def f(params, trial):
    pids(os.getpid())
    {body}
'''


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split()[0] != "Z"
    except OSError:
        return False


def suite_faults(work: Path, verbose: bool) -> tuple[int, int, list[str]]:
    bad: list[str] = []
    for i, (label, body) in enumerate(FAULTS.items()):
        folder = work / f"fault{i}"
        folder.mkdir()
        (folder / "obj.py").write_text(FAULT_HEADER.replace("{body}", body))
        doc = _set(BASE_PYTHON, "search", {"strategy": "random", "trials": 3, "workers": 2, "seed": 0,
                                           "trial_timeout": 3, "trial_memory": "600MB"})
        import yaml
        (folder / "study.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        started = time.monotonic()
        code, out, err = run(["run", "study.yaml", "--study", "s"], folder)
        problem = verdict(code, out, err)
        ends = journal_endings(folder / "s")
        if problem is None:
            if sorted(ends) != [0, 1, 2] or any(len(v) != 1 for v in ends.values()):
                problem = f"journal endings {[(n, len(v)) for n, v in sorted(ends.items())]}"
            elif any(r[0]["event"] == "failed" and not (0 < len(r[0].get("reason") or "") <= 1000)
                     for r in ends.values()):
                problem = "a failure reason missing or longer than 1,000 characters"
        time.sleep(0.5)
        started_pids = [int(p) for p in (folder / "pids.txt").read_text().split()] if (folder / "pids.txt").exists() else []
        left = [p for p in started_pids if alive(p)]
        if left:
            problem = (problem + "; " if problem else "") + f"{len(left)} processes left alive"
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        reasons = sorted({(r[0].get("reason") or r[0]["event"])[:90] for r in ends.values()})
        if problem:
            bad.append(f"{label}: {problem} (exit {code}) {(err.strip().splitlines() or [''])[-1][:120]}")
        if verbose:
            print(f"  {'ok ' if not problem else 'BAD'} {time.monotonic() - started:5.1f}s exit {code}  {label}: "
                  f"{'; '.join(reasons)}")
    return len(FAULTS), len(FAULTS) - len(bad), bad


# ------------------------------------------------------------------------------------------------ kills

KILL_OBJ = '''\
import os, random, time

def f(params, trial):
    random.seed(trial.seed)
    for epoch in range(3):
        time.sleep(random.uniform(0.03, 0.12))
        trial.report(epoch, loss=params["x"] + 1.0 / (epoch + 1))
    return (params["x"] - 0.3) ** 2
'''


def worker_pids(work: Path) -> set[int]:
    """Live workers of studies run in `work` (not the zombies of dead ones, nor other users' workers)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if (open(f"/proc/{entry}/comm").read().strip() == "tui-tuner-work" and alive(int(entry))
                        and Path(os.readlink(f"/proc/{entry}/cwd")) == work):
                    found.add(int(entry))
            except OSError:
                pass
    return found


def suite_kills(work: Path, kills: int, seed: int, verbose: bool) -> tuple[int, int, list[str]]:
    """Each round: a fresh 40-trial study, kill -9 at a random moment, then --resume to the end."""
    import yaml

    rng = random.Random(seed)
    bad: list[str] = []
    lost_total = 0
    (work / "obj.py").write_text(KILL_OBJ)
    doc = _set(BASE_PYTHON, "search", {"strategy": "random", "trials": 40, "workers": 2, "seed": 0})
    (work / "study.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    for k in range(kills):
        study = work / f"k{k}"
        before_workers = worker_pids(work)
        proc = subprocess.Popen([sys.executable, "-m", "tui_tuner.cli", "run", "study.yaml", "--study", str(study)],
                                cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL)
        moment = rng.uniform(0.8, 6.0)
        time.sleep(moment)
        proc.kill()
        proc.wait()
        before = {n: v[0] for n, v in journal_endings(study).items() if v[0]["event"] == "finished"}
        time.sleep(0.5)
        orphans = worker_pids(work) - before_workers
        code, out, err = run(["run", "study.yaml", "--resume", "--study", str(study)], work)
        problem = verdict(code, out, err)
        ends = journal_endings(study)
        lost = [n for n, rec in before.items() if n not in ends or ends[n][0].get("value") != rec.get("value")]
        doubled = [n for n, v in ends.items() if len(v) > 1]
        lost_total += len(lost)
        if problem is None and (lost or doubled or len(ends) != 40):
            problem = f"lost {lost}, doubled {doubled}, {len(ends)} of 40 ended"
        if orphans:
            problem = (problem + "; " if problem else "") + f"{len(orphans)} workers outlived the kill"
        if problem:
            bad.append(f"kill at {moment:.2f}s: {problem}")
        if verbose:
            print(f"  {'ok ' if not problem else 'BAD'} kill at {moment:4.2f}s: {len(before)} finished before, "
                  f"{len(ends)} after resume{'' if not problem else ': ' + problem}")
    print(f"kills: finished trials lost {lost_total}")
    return kills, kills - len(bad), bad


# ------------------------------------------------------------------------------------------------- disk

def suite_disk(work: Path, verbose: bool) -> tuple[int, int, list[str]]:
    """A study whose directory sits on a 64 KB filesystem that fills up while it runs."""
    import yaml

    if os.geteuid() != 0 or not shutil.which("mount"):
        print("disk: skipped (needs root and mount)")
        return 0, 0, []
    mnt = work / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)]).returncode != 0:
        print("disk: skipped (mount refused)")
        return 0, 0, []
    bad = []
    try:
        (work / "obj.py").write_text("def f(params, trial):\n    for i in range(50):\n"
                                     "        trial.report(i, loss=params['x'] + i, extra=float(i))\n"
                                     "    return params['x']\n")
        doc = _set(BASE_PYTHON, "search", {"strategy": "random", "trials": 400, "workers": 2, "seed": 0})
        (work / "study.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        started = time.monotonic()
        code, out, err = run(["run", "study.yaml", "--study", str(mnt / "s")], work, timeout=60)
        took = time.monotonic() - started
        problem = verdict(code, out, err)
        if problem is None and code != 1:
            problem = f"exit {code}, expected 1"
        if problem is None and took > 30:
            problem = f"took {took:.0f} s"
        if verbose:
            print(f"  {'ok ' if not problem else 'BAD'} full disk: exit {code} after {took:.1f}s: "
                  f"{(err.strip().splitlines() or [''])[-1][:200]}")
        if problem is None:  # room again: the resume command the line gave must finish the study, none twice
            safe = sum(1 for ends in journal_endings(mnt / "s").values() if ends)
            subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
            command = err.strip().splitlines()[-1].rpartition("resume with: ")[2].split()
            if command[:2] != ["tui-tuner", "run"]:
                problem = "the line gives no resume command"
            else:
                code, out, err = run(command[1:], work, timeout=300)
                ends = journal_endings(mnt / "s")
                problem = verdict(code, out, err)
                if problem is None and (code != 0 or len(ends) != 400 or any(len(e) > 1 for e in ends.values())):
                    problem = (f"resume: exit {code}, {len(ends)} of 400 trials ended, "
                               f"{sum(len(e) > 1 for e in ends.values())} twice")
                if verbose:
                    print(f"  {'ok ' if not problem else 'BAD'} full disk, then room: {safe} trials were safe, "
                          f"the resume command ended {len(ends)} of 400 (exit {code})")
        if problem:
            bad.append(f"full disk: {problem}")
    finally:
        subprocess.run(["umount", "-l", str(mnt)])
    return 1, 1 - len(bad), bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", default=["files", "faults", "kills", "disk"],
                        choices=["files", "faults", "kills", "disk"])
    parser.add_argument("--kills", type=int, default=18)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    names = {"files": "hostile study files: clean", "faults": "faulty objectives: survived",
             "kills": "kill -9 moments: clean resume", "disk": "full disk: clean exit"}
    failed = False
    for suite in args.suites:
        work = Path(tempfile.mkdtemp(prefix=f"tui-tuner-{suite}-"))
        try:
            if suite == "kills":
                tried, good, bad = suite_kills(work, args.kills, args.seed, args.verbose)
            else:
                tried, good, bad = {"files": suite_files, "faults": suite_faults, "disk": suite_disk}[suite](
                    work, args.verbose)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"{names[suite]} {good} of {tried}")
        for line in bad:
            print(f"  - {line}")
        failed |= bool(bad)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
