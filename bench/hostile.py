"""Study directories, output targets and inputs that someone else prepared, on the real command line.

The families of issue 23, each a list of cases run against `python -m tui_tuner.cli` in a scratch directory:

- resume:    a copied study directory whose snapshot or journal names other code than the study file
- targets:   --export, `trials -o` and `import wandb -o` aimed at a fifo, a symlink, a device or a study's
             own files; a lock or a journal that is a symlink
- journal:   tampered journals (reordered, doubled, nested 200,000 deep, ...) and checkpoints (forged, torn,
             a symlink to /dev/zero, a fifo), then resume, analyze, trials and repair
- inputs:    study files past what a type, a grid or the memory holds
- importers: hostile W&B sweeps and cv_results files
- text:      escape sequences and markup from trials and files
- dask:      --dask at services that are not dask schedulers, and more workers than a machine has
- command:   a command objective whose child shares its stdout

Clean means: exit 0, 1 or 2 within the time limit (exit 2: one line on stderr; 1: a last line
"tui-tuner: ..."), no traceback, nothing written outside the study directory or the named target, no
finished trial lost or doubled, and each case's own check (the marker a hostile module writes is absent, a
fifo is still a fifo, ...).

    python bench/hostile.py                  # every family (a few minutes on 2 cores)
    python bench/hostile.py targets journal -v
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import shutil
import socket
import stat
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from robustness import journal_endings, run, verdict

OBJ = "def f(params, trial):\n    return (params['x'] - 0.3) ** 2\n"
EVIL = "open(__import__('os').environ['MARKER'], 'w').write('ran')\ndef f(params, trial):\n    return -99999.0\n"
STUDY = {"name": "hostile", "objective": {"python": "obj.py:f", "metric": "value", "direction": "minimize"},
         "search": {"strategy": "random", "trials": 3, "workers": 1, "seed": 0},
         "params": {"x": {"type": "float", "low": 0.0, "high": 1.0}}}
SECRET = "root:$6$hostilesecret$abcdefghijklmnop:19000:0:99999:7:::"


@dataclass
class Case:
    family: str
    label: str
    check: Callable[["Scratch"], str | None]  # runs the case; None when clean, else what was wrong


class Scratch:
    """A scratch folder with obj.py, study.yaml, a study `S` run to its end, and a marker path that hostile
    code writes when it runs."""

    def __init__(self, root: Path, pristine: Path) -> None:
        self.root = root
        shutil.copytree(pristine, root, symlinks=True, dirs_exist_ok=True)
        self.marker = root / "RAN"
        self.outside = root / "outside"
        self.outside.mkdir(exist_ok=True)
        self.precious = self.outside / "precious.txt"
        self.precious.write_text("keep me\n")

    def cli(self, *args: str, timeout: float = 60):
        return run([str(a) for a in args], self.root, timeout=timeout, env={"MARKER": str(self.marker)})

    def finished(self, study: str = "S") -> dict[int, float]:
        return {n: e[0]["value"] for n, e in journal_endings(self.root / study).items() if e[0]["event"] == "finished"}

    def lines(self, study: str = "S") -> list[str]:
        return (self.root / study / "journal.jsonl").read_text().splitlines()

    def write_lines(self, lines: list[str], study: str = "S") -> None:
        (self.root / study / "journal.jsonl").write_text("".join(f"{line}\n" for line in lines))


def pristine_study(root: Path) -> dict[int, float]:
    (root / "obj.py").write_text(OBJ)
    (root / "evil.py").write_text(EVIL)
    (root / "study.yaml").write_text(yaml.safe_dump(STUDY, sort_keys=False))
    code, _, err = run(["run", "study.yaml", "--study", "S"], root)
    if code != 0:
        raise SystemExit(f"the pristine study did not run: {err.strip()[-300:]}")
    return {n: e[0]["value"] for n, e in journal_endings(root / "S").items()}


def clean(result, codes=(0, 1, 2)) -> str | None:
    code, out, err = result
    problem = verdict(code, out, err)
    if problem is None and code not in codes:
        problem = f"exit {code}, expected {' or '.join(map(str, codes))}"
    return problem and f"{problem}: {(err.strip().splitlines() or [''])[-1][:140]}"


def first(*problems: str | None) -> str | None:
    return next((p for p in problems if p), None)


# ------------------------------------------------------------------------------------------------- resume

def resume_cases(truth: dict[int, float]) -> list[Case]:
    def edited_snapshot(s: Scratch):
        doc = yaml.safe_load((s.root / "S" / "study.yaml").read_text())
        doc["objective"]["python"] = "evil.py:f"
        (s.root / "S" / "study.yaml").write_text(yaml.safe_dump(doc))
        return s

    def moved_base_dir(s: Scratch):
        (s.outside / "obj.py").write_text(EVIL)
        lines = s.lines()
        head = json.loads(lines[0])
        head["base_dir"] = str(s.outside)
        s.write_lines([json.dumps(head), *lines[1:]])
        return s

    def snapshot_link(s: Scratch):
        secret = s.outside / "shadow"
        secret.write_text(SECRET + "\n")
        (s.root / "S" / "study.yaml").unlink()
        (s.root / "S" / "study.yaml").symlink_to(secret)
        return s

    def resumed(tamper, *command: str, codes=(2,)) -> Callable[[Scratch], str | None]:
        def check(s: Scratch) -> str | None:
            tamper(s)
            result = s.cli(*command)
            return first(clean(result, codes), "the directory's code ran" if s.marker.exists() else None,
                         "echoed a file's content" if "hostilesecret" in result[1] + result[2] else None,
                         _lost(s, truth))
        return check

    resume = ("run", "study.yaml", "--resume", "--study", "S", "--trials", "5")
    cases = [Case("resume", "snapshot names another module", resumed(edited_snapshot, *resume)),
             # the file's code, which the study record's digests vouch for, may run from the file's folder
             Case("resume", "journal's base_dir moved", resumed(moved_base_dir, *resume, codes=(0, 2))),
             Case("resume", "snapshot a symlink to a secret", resumed(snapshot_link, *resume, codes=(0, 2)))]
    for reader in (("analyze", "S"), ("trials", "S"), ("compare", "S", "S"), ("repair", "S")):
        for tamper, what in ((edited_snapshot, "edited snapshot"), (moved_base_dir, "moved base_dir")):
            cases.append(Case("resume", f"{reader[0]} on a {what}", resumed(tamper, *reader, codes=(0,))))
    return cases


def _lost(s: Scratch, truth: dict[int, float], study: str = "S") -> str | None:
    """What of the pristine study's finished trials the journal no longer holds once, with its value."""
    ends = journal_endings(s.root / study)
    doubled = [n for n, e in ends.items() if sum(x["event"] == "finished" for x in e) > 1]
    lost = [n for n, v in truth.items() if n not in ends or ends[n][0].get("value") != v]
    return f"finished trials lost {lost} or doubled {doubled}" if lost or doubled else None


# ------------------------------------------------------------------------------------------------ targets

def _fifo(s: Scratch) -> Path:
    path = s.outside / "fifo"
    os.mkfifo(path)
    return path


def _link(s: Scratch) -> Path:
    path = s.outside / "link.json"
    path.symlink_to(s.precious)
    return path


def _device(s: Scratch) -> Path | None:
    if os.geteuid() != 0:
        return None
    path = s.outside / "null"
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return path


def _unchanged(s: Scratch, target: Path, kind: str, truth: dict[int, float]) -> str | None:
    mode = os.lstat(target).st_mode
    if kind == "fifo" and not stat.S_ISFIFO(mode):
        return "the fifo was replaced"
    if kind == "link" and (not stat.S_ISLNK(mode) or s.precious.read_text() != "keep me\n"):
        return "the symlink or the file it points to was changed"
    if kind == "device" and not stat.S_ISCHR(mode):
        return "the device was replaced"
    if kind == "study file":
        return _lost(s, truth) or ("the snapshot was replaced" if "objective" not in (s.root / "S" / "study.yaml").read_text() else None)
    return None


def target_cases(truth: dict[int, float]) -> list[Case]:
    sweep = "method: random\nmetric: {name: loss, goal: minimize}\nprogram: train.py\n" \
            "parameters:\n  lr: {min: 0.001, max: 0.1}\n"
    writers = {
        "run --export": lambda t: ("run", "study.yaml", "--resume", "--study", "S", "--export", t),
        "trials -o": lambda t: ("trials", "S", "-o", t),
        "import wandb -o": lambda t: ("import", "wandb", "sweep.yaml", "-o", t),
    }
    targets: dict[str, Callable[[Scratch], Path | None]] = {
        "fifo": _fifo, "link": _link, "device": _device,
        **{f"S/{name}": (lambda name: lambda s: s.root / "S" / name)(name)
           for name in ("journal.jsonl", "study.yaml", "lock", "best.json")},
    }

    def case(writer, target_name) -> Callable[[Scratch], str | None]:
        def check(s: Scratch) -> str | None:
            (s.root / "sweep.yaml").write_text(sweep)
            target = targets[target_name](s)
            if target is None:
                return None  # a device needs root
            result = s.cli(*writers[writer](target))
            kind = target_name if not target_name.startswith("S/") else "study file"
            return first(clean(result, (2,)), _unchanged(s, target, kind, truth))
        return check

    cases = [Case("targets", f"{w} at {t}", case(w, t)) for w in writers for t in targets]

    def lock_link(command: tuple[str, ...]) -> Callable[[Scratch], str | None]:
        def check(s: Scratch) -> str | None:
            (s.root / "S" / "lock").unlink(missing_ok=True)
            (s.root / "S" / "lock").symlink_to(s.precious)
            result = s.cli(*command)
            return first(clean(result, (0, 2)), _unchanged(s, s.root / "S" / "lock", "link", truth), _lost(s, truth))
        return check

    def journal_link(s: Scratch) -> str | None:
        other = s.outside / "journal.jsonl"
        shutil.move(s.root / "S" / "journal.jsonl", other)
        (s.root / "S" / "journal.jsonl").symlink_to(other)
        before = other.read_bytes()
        result = s.cli("run", "study.yaml", "--resume", "--study", "S", "--trials", "5")
        return first(clean(result, (2,)), "appended through a planted symlink" if other.read_bytes() != before else None)

    cases += [Case("targets", "lock a symlink, run --resume", lock_link(("run", "study.yaml", "--resume", "--study",
                                                                         "S", "--trials", "4"))),
              Case("targets", "lock a symlink, repair", lock_link(("repair", "S"))),
              Case("targets", "journal a symlink, run --resume", journal_link)]
    return cases


# ------------------------------------------------------------------------------------------------ journal

def _sample_digest(journal: Path, offset: int) -> str:
    """The checkpoint digest an attacker can recompute: blake2b of samples of the journal (as before issue 23)."""
    data = journal.read_bytes()[:offset]
    edge, block, spread = 64 << 10, 4 << 10, 32
    if offset <= 2 * edge + spread * block:
        spans = [(0, offset)]
    else:
        step = (offset - 2 * edge) // (spread + 1)
        spans = [(0, edge), *((edge + step * (i + 1), block) for i in range(spread)), (offset - edge, edge)]
    h = hashlib.blake2b(str(offset).encode(), digest_size=20)
    for start, length in spans:
        h.update(data[start:start + length])
    return h.hexdigest()


def journal_cases(truth: dict[int, float]) -> list[Case]:
    def index(lines, event, number=None):
        return next(i for i, line in enumerate(lines) if json.loads(line).get("event") == event
                    and (number is None or json.loads(line).get("number") == number))

    def reorder(s):
        lines = s.lines()
        i, j = index(lines, "started", 1), index(lines, "finished", 1)
        lines.insert(i, lines.pop(j))
        s.write_lines(lines)

    def double_finished(s):
        lines = s.lines()
        forged = {**json.loads(lines[index(lines, "finished", 0)]), "value": -99999.0}
        s.write_lines([*lines, json.dumps(forged)])

    def second_study(s):
        lines = s.lines()
        s.write_lines([*lines, json.dumps({**json.loads(lines[0]), "direction": "maximize"})])

    def negative_timeout(s):
        lines = s.lines()
        settings = json.loads(lines[0])["settings"]
        s.write_lines([*lines, json.dumps({"event": "settings", "settings": {**settings, "trial_timeout": -5}})])

    def deep(s):
        s.write_lines([*s.lines(), "[" * 200_000 + "]" * 200_000])

    def huge_int(s):
        s.write_lines([*s.lines(), '{"event": "note", "number": ' + "9" * 5000 + ', "text": "x"}'])

    def long_line(s):
        s.write_lines([*s.lines(), json.dumps({"event": "note", "number": None, "text": "x" * 30_000_000})])

    tampers = {"reordered lines": reorder, "a second finished": double_finished, "a second study record": second_study,
               "settings with a negative timeout": negative_timeout, "a line nested 200,000 deep": deep,
               "a 5,000-digit number": huge_int, "a 30 MB line": long_line}

    def tampered(tamper) -> Callable[[Scratch], str | None]:
        def check(s: Scratch) -> str | None:
            tamper(s)
            for command in (("run", "study.yaml", "--resume", "--study", "S", "--trials", "5"), ("analyze", "S"),
                            ("trials", "S")):
                problem = clean(s.cli(*command), (2,))
                if problem:
                    return f"{command[0]}: {problem}"
            problem = clean(s.cli("repair", "S"), (0,))
            if problem:
                return f"repair: {problem}"
            problem = clean(s.cli("run", "study.yaml", "--resume", "--study", "S", "--trials", "5"), (0,))
            return first(problem and f"resume after repair: {problem}", _lost(s, truth),
                         None if len(s.finished()) == 5 else f"{len(s.finished())} of 5 finished after repair")
        return check

    def checkpoint(make) -> Callable[[Scratch], str | None]:
        def check(s: Scratch) -> str | None:
            path = s.root / "S" / "checkpoint.pickle"
            path.unlink(missing_ok=True)
            make(s, path)
            result = s.cli("run", "study.yaml", "--resume", "--study", "S", "--trials", "5", "--export", "out.json")
            best = json.loads((s.root / "out.json").read_text())["value"] if (s.root / "out.json").exists() else None
            return first(clean(result, (0,)), _lost(s, truth),
                         "believed a forged checkpoint" if best is not None and best < -1 else None)
        return check

    def forged(s: Scratch, path: Path) -> None:
        from tui_tuner.storage.trial_log import StudyLog, TrialRecord
        from tui_tuner.storage import read_journal

        journal = s.root / "S" / "journal.jsonl"
        log = StudyLog.replay(read_journal(journal))
        state = log.state()
        state["records"] = [*state["records"], TrialRecord(number=99, params={"x": 0.5}, seed=1, state="finished",
                                                           value=-99999.0)]
        offset = journal.stat().st_size
        head = {"format": 2, "offset": offset, "next_line": len(s.lines()) + 1,
                "digest": _sample_digest(journal, offset)}
        path.write_bytes(pickle.dumps((head, state), protocol=5))

    cases = [Case("journal", label, tampered(t)) for label, t in tampers.items()]
    cases += [Case("journal", "a forged checkpoint", checkpoint(forged)),
              Case("journal", "a 12-byte checkpoint", checkpoint(lambda s, p: p.write_bytes(b"\x80\x05\x95" + b"\xff" * 9))),
              Case("journal", "a checkpoint linked to /dev/zero", checkpoint(lambda s, p: p.symlink_to("/dev/zero"))),
              Case("journal", "a checkpoint that is a fifo", checkpoint(lambda s, p: os.mkfifo(p)))]
    return cases


# ------------------------------------------------------------------------------------------------- inputs

def input_cases() -> list[Case]:
    def with_params(params, **search) -> dict:
        return {**STUDY, "search": {**STUDY["search"], **search}, "params": params}

    bomb = "l0: &l0 [" + ", ".join(["x"] * 10) + "]" + "".join(  # a million strings from 60 lines' worth
        f", l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 6))
    chain = {"x": {"type": "float", "low": 0.0, "high": 1.0}, "p0": {"type": "categorical", "choices": ["a", "b"]}}
    for i in range(1, 1500):
        chain[f"p{i}"] = {"type": "categorical", "choices": ["a", "b"], "when": {f"p{i - 1}": "a"}}
    docs: dict[str, str] = {
        "int bound .inf": yaml.safe_dump(with_params({"x": {"type": "int", "low": 0, "high": float("inf")}})),
        "int range past 2**53": yaml.safe_dump(with_params({"x": {"type": "int", "low": 0, "high": 2 ** 60}})),
        "int range of 2**70": yaml.safe_dump(with_params({"x": {"type": "int", "low": -(2 ** 70), "high": 2 ** 70}})),
        "float range overflowing": yaml.safe_dump(with_params({"x": {"type": "float", "low": -1e308, "high": 1e308}})),
        "when chain 1,500 deep": yaml.safe_dump(with_params(chain)),
        "10,000 choices": yaml.safe_dump(with_params({"x": {"type": "categorical", "choices": list(range(10_000))}})),
        "grid of 10**30 points": yaml.safe_dump(with_params({f"p{i}": {"type": "categorical", "choices": list(range(10))}
                                                             for i in range(30)} | {"x": {"type": "float", "low": 0,
                                                                                          "high": 1}},
                                                            strategy="grid")),
        "NaN choices": yaml.safe_dump(with_params({"x": {"type": "categorical", "choices": [float("nan"), 1.0]}})),
        "alias bomb in fixed": yaml.safe_dump({**STUDY, "objective": {**STUDY["objective"], "fixed": "FIX"}})
        .replace("fixed: FIX", "fixed: {" + bomb + "}"),
        "a string choice of 10 MB": yaml.safe_dump(with_params({"x": {"type": "categorical", "choices": ["a" * 10_000_000,
                                                                                                        "b"]}})),
        "step past the range": yaml.safe_dump(with_params({"x": {"type": "float", "low": 0.0, "high": 1.0, "step": 1e300}})),
    }
    csvs = {"a CSV with only the target column": "y\n" + "0\n1\n" * 20,
            "a CSV with duplicate headers": "a,a,y\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(40))}

    def study_file(text: str) -> Callable[[Scratch], str | None]:
        def check(s: Scratch) -> str | None:
            (s.root / "case.yaml").write_text(text)
            result = s.cli("run", "case.yaml", "--study", "T", "--trials", "2", timeout=90)
            best = s.root / "T" / "best.json"
            return first(clean(result), "best.json past 1 MB" if best.exists() and best.stat().st_size > 1 << 20 else None)
        return check

    def csv_study(text: str) -> Callable[[Scratch], str | None]:
        doc = {"name": "csv", "objective": {"model": "sklearn.linear_model.LogisticRegression",
                                            "dataset": {"csv": "data.csv", "target": "y"}, "metric": "accuracy",
                                            "validation": {"kfold": 2}},
               "search": {"trials": 2, "workers": 1}, "params": {"C": {"type": "float", "low": 0.1, "high": 1.0}}}

        def check(s: Scratch) -> str | None:
            (s.root / "data.csv").write_text(text)
            return study_file(yaml.safe_dump(doc))(s)
        return check

    return ([Case("inputs", label, study_file(text)) for label, text in docs.items()]
            + [Case("inputs", label, csv_study(text)) for label, text in csvs.items()])


# ---------------------------------------------------------------------------------------------- importers

def importer_cases() -> list[Case]:
    base = {"method": "random", "metric": {"name": "loss", "goal": "minimize"}, "program": "train.py",
            "parameters": {"lr": {"min": 0.001, "max": 0.1}}}

    def sweep(**change) -> str:
        return yaml.safe_dump({**base, **change})

    nested = "{parameters: {a: " * 3000 + "{min: 0, max: 1}" + "}}" * 3000
    sweeps = {
        "min 1e308 max inf": sweep(parameters={"lr": {"min": 1e308, "max": float("inf")}}),
        "q 0": sweep(parameters={"lr": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0}}),
        "q NaN": sweep(parameters={"lr": {"distribution": "q_log_uniform_values", "min": 1, "max": 100,
                                          "q": float("nan")}}),
        "log_uniform min 0": sweep(parameters={"lr": {"distribution": "log_uniform_values", "min": 0, "max": 1}}),
        "int past 2**63": sweep(parameters={"n": {"distribution": "int_uniform", "min": 0, "max": 2 ** 80}}),
        "nested 3,000 deep": sweep().replace("parameters:", f"parameters:\n  deep: {nested}", 1),
        "early_terminate eta 1": sweep(early_terminate={"type": "hyperband", "min_iter": 3, "eta": 1}),
        "early_terminate eta 0": sweep(early_terminate={"type": "hyperband", "min_iter": 3, "eta": 0}),
        "early_terminate strings": sweep(early_terminate={"type": "hyperband", "min_iter": "three", "eta": "x"}),
        "early_terminate a list": sweep(early_terminate=[1, 2]),
        "min_iter 0": sweep(early_terminate={"type": "hyperband", "min_iter": 0}),
        "probabilities of 2 values": sweep(parameters={"a": {"values": [1, 2, 3], "probabilities": [0.5, 0.5]}}),
        "metric a list": sweep(metric=["loss"]),
        "values empty": sweep(parameters={"a": {"values": []}}),
        "a key that is a number": "method: random\nmetric: {name: loss}\nparameters:\n  1: {min: 0, max: 1}\n",
        "an alias bomb": "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                         "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                         + yaml.safe_dump(base).replace("program: train.py", "program: train.py\ncommand: *f"),
    }
    header = "param_C,mean_test_score,std_test_score,rank_test_score,params\n"
    deep_json = "[" * 100_000 + "]" * 100_000
    cv = {
        "deep JSON": ("json", deep_json),
        "list cells": ("json", json.dumps({"param_C": [[1, 2], [3]], "mean_test_score": [0.5, 0.6],
                                           "params": [{"C": [1, 2]}, {"C": [3]}]})),
        "a 4,000-digit integer": ("csv", header + f"{'9' * 4000},0.5,0.1,1,{{'C': 1}}\n"),
        "a 5,000-digit score": ("json", '{"param_C": [1], "mean_test_score": [' + "9" * 5000 + '], "params": [{"C": 1}]}'),
        "a 10 MB cell": ("csv", header + f"{'x' * 10_000_000},0.5,0.1,1,{{}}\n"),
        "only the score column": ("csv", "mean_test_score\n0.5\n0.6\n"),
        "duplicate headers": ("csv", "param_C,param_C,mean_test_score\n1,2,0.5\n3,4,0.6\n"),
        "ragged rows": ("csv", header + "1,0.5\n2,0.6,0.1,1,{},extra,more\n"),
        "NaN scores": ("csv", header + "1,nan,0.1,1,{'C': 1}\n2,nan,0.1,2,{'C': 2}\n"),
        "empty": ("csv", ""),
        "a million rows": ("csv", header + "".join(f"{i % 997 / 10 + 0.1},0.{i % 89},0.01,1,{{}}\n"
                                                    for i in range(1_000_000))),
    }

    def sweep_case(text: str) -> Callable[[Scratch], str | None]:
        def check(s: Scratch) -> str | None:
            (s.root / "sweep.yaml").write_text(text)
            return clean(s.cli("import", "wandb", "sweep.yaml", "-o", "out.yaml"))
        return check

    def cv_case(kind: str, text: str) -> Callable[[Scratch], str | None]:
        def check(s: Scratch) -> str | None:
            path = s.root / f"cv.{kind}"
            path.write_text(text)
            result = s.cli("import", "sklearn", path.name, "--study", "I", timeout=300)
            half = result[0] != 0 and (s.root / "I" / "journal.jsonl").exists()
            return first(clean(result), "a failed import left a study directory" if half else None)
        return check

    return ([Case("importers", f"sweep: {label}", sweep_case(t)) for label, t in sweeps.items()]
            + [Case("importers", f"cv_results: {label}", cv_case(*kt)) for label, kt in cv.items()])


# --------------------------------------------------------------------------------------------------- text

def text_cases() -> list[Case]:
    hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31m[red]x[/] \x9b2J"

    def no_escapes(result) -> str | None:
        out = result[1] + result[2]
        return "an escape sequence reached the terminal" if any(c in out for c in "\x1b\x07\x9b") else None

    def command_failure(s: Scratch) -> str | None:
        (s.root / "fail.py").write_text(f"import sys\nsys.stderr.write({hostile!r} * 3)\nsys.exit(1)\n")
        doc = {**STUDY, "objective": {"command": f"{sys.executable} fail.py", "metric": "loss"}}
        (s.root / "cmd.yaml").write_text(yaml.safe_dump(doc))
        result = s.cli("run", "cmd.yaml", "--study", "T", "--trials", "2")
        return first(clean(result), no_escapes(result))

    def python_failure(s: Scratch) -> str | None:
        (s.root / "raise.py").write_text(f"def f(params, trial):\n    raise RuntimeError({hostile!r})\n")
        doc = {**STUDY, "objective": {**STUDY["objective"], "python": "raise.py:f"}}
        (s.root / "raise.yaml").write_text(yaml.safe_dump(doc))
        result = s.cli("run", "raise.yaml", "--study", "T", "--trials", "2")
        return first(clean(result), no_escapes(result))

    def choices(s: Scratch) -> str | None:
        doc = {**STUDY, "objective": {**STUDY["objective"], "python": "obj.py:g"},
               "params": {"x": {"type": "categorical", "choices": [hostile, "[bold]b"]}}}
        (s.root / "obj.py").write_text("def g(params, trial):\n    return float(len(params['x']))\n")
        (s.root / "ch.yaml").write_text(yaml.safe_dump(doc))
        result = s.cli("run", "ch.yaml", "--study", "T", "--trials", "2")
        return first(clean(result, (0,)), no_escapes(result), no_escapes(s.cli("analyze", "T")))

    def secret_link(s: Scratch) -> str | None:
        secret = s.outside / "shadow"
        secret.write_text(SECRET + "\n")
        (s.root / "link.yaml").symlink_to(secret)
        result = s.cli("run", "link.yaml")
        return first(clean(result, (2,)), "echoed the file's content" if "hostilesecret" in result[1] + result[2] else None)

    return [Case("text", "a command's stderr with escapes", command_failure),
            Case("text", "an exception message with escapes", python_failure),
            Case("text", "choices with escapes and markup", choices),
            Case("text", "a study file linked to a secret", secret_link)]


# --------------------------------------------------------------------------------------------------- dask

def _serve(reply: bytes | None) -> tuple[int, threading.Event]:
    """A loopback server that answers each connection with `reply` (None: says nothing, keeps it open)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    done = threading.Event()

    def loop() -> None:
        server.settimeout(0.2)
        held = []
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            if reply is None:
                held.append(conn)
            else:
                conn.sendall(reply)
                conn.close()
        server.close()
    threading.Thread(target=loop, daemon=True).start()
    return server.getsockname()[1], done


def dask_cases() -> list[Case]:
    def service(reply: bytes | None) -> Callable[[Scratch], str | None]:
        def check(s: Scratch) -> str | None:
            port, done = _serve(reply)
            try:
                return clean(s.cli("run", "study.yaml", "--study", "D", "--dask", f"tcp://127.0.0.1:{port}",
                                   timeout=60), (1, 2))
            finally:
                done.set()
        return check

    def workers(s: Scratch) -> str | None:
        return clean(s.cli("run", "study.yaml", "--study", "D", "--dask", "local:100000", timeout=60), (2,))

    return [Case("dask", "an HTTP server", service(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")),
            Case("dask", "a huge length prefix", service(b"\xff" * 64)),
            Case("dask", "a server that says nothing", service(None)),
            Case("dask", "local:100000", workers)]


# ------------------------------------------------------------------------------------------------ command

def command_cases() -> list[Case]:
    program = ("import json, subprocess, sys, time\n"  # the child writes pieces of lines, flushed as they come
               "child = subprocess.Popen([sys.executable, '-c', 'import sys, time\\nend = time.time() + 1.5\\n"
               "while time.time() < end: sys.stdout.write(\"noise \" * 500); sys.stdout.flush()'])\n"
               "for i in range(3):\n    print(json.dumps({'epoch': i, 'loss': 1.0 / (i + 1)}), flush=True)\n"
               "time.sleep(0.5)\nprint(json.dumps({'loss': 0.25}), flush=True)\nchild.wait()\n")

    def shared_stdout(s: Scratch) -> str | None:
        (s.root / "noisy.py").write_text(program)
        doc = {**STUDY, "objective": {"command": f"{sys.executable} noisy.py", "metric": "loss"},
               "search": {**STUDY["search"], "trials": 4}}
        (s.root / "noisy.yaml").write_text(yaml.safe_dump(doc))
        result = s.cli("run", "noisy.yaml", "--study", "T", timeout=120)
        finished = s.finished("T")
        return first(clean(result, (0,)), None if len(finished) == 4 and set(finished.values()) == {0.25}
                     else f"{len(finished)} of 4 finished, with values {sorted(set(finished.values()))} (the final line's: 0.25)")

    return [Case("command", "a child writing to the same stdout", shared_stdout)]


FAMILIES = {"resume": resume_cases, "targets": target_cases, "journal": journal_cases, "inputs": input_cases,
            "importers": importer_cases, "text": text_cases, "dask": dask_cases, "command": command_cases}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("families", nargs="*", choices=[*FAMILIES, []], help="default: every family")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tui-tuner-hostile-"))
    try:
        pristine = base / "pristine"
        pristine.mkdir()
        truth = pristine_study(pristine)
        totals: dict[str, list[int]] = {}
        bad: list[str] = []
        for family in args.families or FAMILIES:
            maker = FAMILIES[family]
            cases = maker(truth) if family in ("resume", "targets", "journal") else maker()
            for i, case in enumerate(cases):
                scratch = Scratch(base / f"{family}{i}", pristine)
                try:
                    problem = case.check(scratch)
                except Exception as err:  # the bench's own failure to set a case up is a bad case, said so
                    problem = f"the case raised {type(err).__name__}: {str(err)[:100]}"
                shutil.rmtree(scratch.root, ignore_errors=True)
                tried, good = totals.setdefault(family, [0, 0])
                totals[family] = [tried + 1, good + (problem is None)]
                if problem:
                    bad.append(f"{family}: {case.label}: {problem}")
                if args.verbose:
                    print(f"  {'ok ' if not problem else 'BAD'} {family}: {case.label}{'' if not problem else ': ' + problem}",
                          flush=True)
        print(f"{'family':<10} {'tried':>5} {'clean':>5}")
        for family, (tried, good) in totals.items():
            print(f"{family:<10} {tried:>5} {good:>5}")
        print(f"{'all':<10} {sum(t for t, _ in totals.values()):>5} {sum(g for _, g in totals.values()):>5}")
        for line in bad:
            print(f"  - {line}")
        return 1 if bad else 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
