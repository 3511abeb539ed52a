"""Any program as an objective: `command: "python train.py"`, run once a trial in the trial's worker.

The program gets each param and each `fixed:` value as `--name=value` (W&B's convention), or where the
command has a `{name}` placeholder. Values are written as Python's `str()` writes them (`0.001`, `64`,
`adam`, `True`/`False`, as W&B's agent does), lists and mappings as compact JSON (`[16,32]`); a value that
is None (or a conditional param that is inactive) is left out, and so is any word holding its placeholder.
It runs in the study file's folder with `PYTHONUNBUFFERED=1` (so a Python program's lines arrive as they are
printed), `TUI_TUNER_TRIAL` and `TUI_TUNER_SEED` set.

Each line of its standard output that is a JSON object is a report: one with `step` (or else `epoch`) is a
point on the curves, judged by the pruner; the last one holds the final metrics. A process it started may write
to the same stdout and tear a line: a JSON object holding one of the study's metrics is then found within the
line, among the other bytes. Everything else it prints, on either stream, goes to the trial's log (bounded).
The program stays in the worker's process group, so the pool's timeout and cancel kill it with the worker;
pruning kills its process tree here.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import select
import selectors
import shlex
import shutil
import signal
import subprocess
import time
from collections import deque
from pathlib import Path
from typing import Any, TextIO

from ..errors import InputError, TrialPruned
from ..files import NotRegularFile, open_regular
from ..process_tree import kill_below
from ..results import as_number, describe, shorten
from ..trial import Trial

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_]\w*)\}")  # {name}; {{ and }} are literal braces
SCRIPT_SUFFIXES = (".py", ".sh")  # `python train.py`: the script is checked to exist, like the program
STEP_KEYS = ("step", "epoch")  # the first one a JSON line has is its step on the curves
READ_BYTES = 1 << 16
POLL_SECONDS = 0.2  # how often, while reading, whether the program has exited is checked
EXIT_DRAIN_SECONDS = 1.0  # after it exited, output still coming (from what it left running) is read this long
LINE_BYTES = 1 << 20  # a longer line is taken as it is (cut in the log)
OBJECT_START = re.compile(r'\{\s*"')  # where a JSON object with a key may start
TORN_REPORT = select.PIPE_BUF  # the longest report found in a torn line: one write the pipe keeps whole
SEARCH_WORK = 8  # characters the decoder may go through in a torn line, per character of it
DECODER = json.JSONDecoder()
LOG_HEAD_BYTES = 256 << 10  # a trial's log keeps the start of the output up to this size ...
LOG_TAIL_LINES = 200  # ... and its last lines
LOG_LINE_CHARS = 2000
REASON_TAIL_CHARS = 400  # of the error output, in a failed trial's reason


class ProgramFailed(Exception):
    """The program exited non-zero, was killed, or printed no final metrics: the trial fails with this."""


def split_command(command: object, *, base_dir: Path, file: str | None) -> list[str]:
    """The command's words (a string split like a shell would, or a list of words), with its program
    found on PATH or next to the study file, and a `python train.py` script found; run nothing."""
    field = "objective.command"
    if isinstance(command, list) and all(isinstance(word, str) for word in command):
        words = list(command)
    elif isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError as err:
            raise InputError(f"cannot be split into words: {err}", file=file, field=field) from None
    else:
        raise InputError(f'must be the command line to run, like "python train.py", got {describe(command)}',
                         file=file, field=field)
    if not words or not words[0]:
        raise InputError('is empty: name the program to run, like "python train.py"', file=file, field=field)
    program = words[0]
    if not PLACEHOLDER.search(program):
        _check_program(program, base_dir=base_dir, file=file, field=field)
    if len(words) > 1 and words[1].endswith(SCRIPT_SUFFIXES) and not PLACEHOLDER.search(words[1]):
        script = base_dir / words[1]
        if not script.is_file():
            raise InputError(f"no such file: {script} (paths are relative to the study file's folder)",
                             file=file, field=field)
    return words


def _check_program(program: str, *, base_dir: Path, file: str | None, field: str) -> None:
    if "/" not in program:
        if shutil.which(program) is None:
            raise InputError(f"program {program!r} is not found on PATH", file=file, field=field)
        return
    path = base_dir / Path(program).expanduser()
    if not path.is_file():
        raise InputError(f"no such file: {path} (paths are relative to the study file's folder)", file=file,
                         field=field)
    if not os.access(path, os.X_OK):
        raise InputError(f"{path} is not executable: chmod +x it, or name its interpreter first "
                         f"(python {program})", file=file, field=field)


def placeholders(words: list[str]) -> set[str]:
    """The names of the `{name}` placeholders in the command's words."""
    return {m[1] for word in words for m in PLACEHOLDER.finditer(word) if m[1]}


def render(value: Any) -> str:
    """One value as a command-line word: str() for numbers, strings and booleans, compact JSON for lists."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def arguments(words: list[str], values: dict) -> list[str]:
    """The command's words with placeholders filled, then `--name=value` for every value not placed.
    A word whose placeholder has no value (None, or an inactive param) is left out."""
    argv = []
    for word in words:
        missing = False

        def fill(match: re.Match) -> str:
            nonlocal missing
            if not match[1]:
                return match[0][0]
            if values.get(match[1]) is None:
                missing = True
                return ""
            return render(values[match[1]])

        filled = PLACEHOLDER.sub(fill, word)
        if not missing:
            argv.append(filled)
    placed = placeholders(words)
    argv += [f"--{name}={render(value)}" for name, value in values.items()
             if name not in placed and value is not None]
    return argv


class TrialOutput:
    """A trial's log: the start of what the program printed, up to LOG_HEAD_BYTES, and its last
    LOG_TAIL_LINES lines, so a chatty program cannot fill the disk. Without a path (a trial outside a study)
    lines go to standard output."""

    def __init__(self, path: str | None) -> None:
        self.file: TextIO | None = None
        if path:
            self.file = os.fdopen(_own_log(Path(path)), "w", encoding="utf-8", errors="replace", buffering=1)
        self.written = 0
        self.cut = 0
        self.tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)

    def write(self, line: str) -> None:
        line = shorten(line, LOG_LINE_CHARS)
        if self.file is None:
            print(line, flush=True)
        elif self.written < LOG_HEAD_BYTES:
            self.file.write(line + "\n")
            self.written += len(line) + 1
        else:
            if len(self.tail) == self.tail.maxlen:
                self.cut += 1
            self.tail.append(line)

    def close(self) -> None:
        if self.file is None:
            return
        if self.cut:
            self.file.write(f"[... {self.cut} lines cut: a trial's log keeps its first {LOG_HEAD_BYTES >> 10} KB "
                            f"and its last {LOG_TAIL_LINES} lines ...]\n")
        self.file.writelines(line + "\n" for line in self.tail)
        self.file.close()


def _own_log(path: Path) -> int:
    """A descriptor of the trial's log file, made empty: a file of the study's own logs folder, never written
    through a link (a study directory someone prepared could link it to ~/.bashrc) or to a fifo or device."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.parent.is_symlink():
            raise NotRegularFile(str(path.parent), "a symlink")
        fd = open_regular(path, os.O_WRONLY | os.O_CREAT, 0o644, follow=False)
    except NotRegularFile as err:
        raise ProgramFailed(f"not run: {err.filename} is {err.kind}, not the study's own; the trial's output "
                            "is never written through it") from None
    os.ftruncate(fd, 0)
    return fd


class CommandObjective:
    """Runs the study's program once a trial; its last JSON line is the result (a dict of metrics)."""

    def __init__(self, words: list[str], *, metric: str | list[str], direction: str | list[str],
                 fixed: dict | None = None, cwd: Path) -> None:
        self.words = words
        self.text = shlex.join(words)
        self.metrics = tuple(metric) if isinstance(metric, list) else (metric,)
        self.directions = tuple(direction) if isinstance(direction, list) else (direction,)
        self.metric, self.direction = self.metrics[0], self.directions[0]
        self.fixed = dict(fixed or {})
        self.cwd = str(cwd.resolve())

    def check_params(self, names: list[str], *, file: str | None) -> None:
        """Every `{name}` in the command must be a param or a fixed value."""
        unknown = sorted(placeholders(self.words) - set(names) - set(self.fixed))
        if unknown:
            known = ", ".join([*names, *self.fixed]) or "none"
            raise InputError(f"{{{unknown[0]}}} names no param or fixed value (known: {known}); write {{{{ and }}}} "
                             "for a literal brace", file=file, field="objective.command")

    def __call__(self, params: dict, trial: Trial) -> dict:
        argv = arguments(self.words, {**self.fixed, **params})
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TUI_TUNER_TRIAL": str(trial.number),
               "TUI_TUNER_SEED": str(trial.seed)}
        output = TrialOutput(trial.log_path)
        try:
            try:
                process = subprocess.Popen(argv, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            except OSError as err:
                raise ProgramFailed(f"cannot start {argv[0]!r}: {err.strerror or err}") from None
            try:
                final, errors = self._follow(process, trial, output)
            finally:
                if process.poll() is None:
                    _end(process)
                process.stdout.close()
                process.stderr.close()
        finally:
            output.close()
        return self._result(process.returncode, final, errors)

    def _follow(self, process: subprocess.Popen, trial: Trial, output: TrialOutput) -> tuple[dict | None, deque]:
        """Read both streams until the program has exited and they are drained: reports to the trial, the
        rest to the log. Returns the last JSON object and the last lines of error output. A process the
        program left behind may hold its streams open: once the program has exited, reading stops when
        nothing more comes (or after EXIT_DRAIN_SECONDS), and the worker ends that process."""
        final: dict | None = None
        errors: deque[str] = deque(maxlen=20)
        pending = {"out": b"", "err": b""}
        exited: float | None = None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ, "out")
            selector.register(process.stderr, selectors.EVENT_READ, "err")
            while selector.get_map():
                ended = process.poll() is not None  # before select: what it wrote before exiting is readable
                events = selector.select(timeout=POLL_SECONDS)
                for key, _ in events:
                    chunk = os.read(key.fd, READ_BYTES)
                    *lines, rest = (pending[key.data] + chunk).split(b"\n")
                    if not chunk:  # the end
                        selector.unregister(key.fileobj)
                        lines += [rest] if rest else []
                        rest = b""
                    elif len(rest) > LINE_BYTES:  # a line with no end in sight: taken, but for a report begun
                        cut = rest.rfind(b"{", len(rest) - TORN_REPORT)  # at its end
                        lines.append(rest[:cut] if cut > 0 else rest)
                        rest = rest[cut:] if cut > 0 else b""
                    pending[key.data] = rest
                    final = self._take(key.data, lines, final, errors, trial, process, output)
                if ended:
                    exited = exited or time.monotonic()
                    if not events or time.monotonic() - exited > EXIT_DRAIN_SECONDS:
                        break
        for stream, rest in pending.items():
            if rest:
                final = self._take(stream, [rest], final, errors, trial, process, output)
        process.wait()
        return final, errors

    def _take(self, stream: str, lines: list[bytes], final: dict | None, errors: deque, trial: Trial,
              process: subprocess.Popen, output: TrialOutput) -> dict | None:
        """Lines of one stream: error output and non-JSON lines to the log, JSON objects reported. Returns the
        last JSON object so far."""
        for raw in lines:
            line = raw.decode("utf-8", errors="replace").rstrip("\r")
            whole = _json_object(line) if stream == "out" else None
            if whole is not None:
                reports = [whole]
            else:  # the log keeps it, and a torn line gives up the reports within it
                reports = _torn_reports(line, self.metrics) if stream == "out" else []
                output.write(line)
                if stream == "err" and line.strip():
                    errors.append(line)
            for report in reports:
                final = report
                self._report(report, trial, process)
        return final

    def _report(self, report: dict, trial: Trial, process: subprocess.Popen) -> None:
        """A JSON line with a step is a point on the curves; the pruner's verdict ends the program."""
        key = next((k for k in STEP_KEYS if k in report), None)
        if key is None:
            return
        step = as_number(report[key])
        if step is None or not step.is_integer():
            raise ProgramFailed(f"a JSON line's {key!r} must be a whole number, got {describe(report[key])}")
        values = {k: v for k, v in report.items() if k not in STEP_KEYS and as_number(v) is not None}
        trial.report(int(step), **values)
        if trial.should_prune():
            _end(process)
            raise TrialPruned()

    def _result(self, code: int, final: dict | None, errors: deque) -> dict:
        if code < 0:
            raise ProgramFailed(f"{self.text} was killed by signal {_signal_name(-code)}{_tail(errors)}")
        if code > 0:
            raise ProgramFailed(f"{self.text} exited with code {code}{_tail(errors)}")
        if final is None:
            raise ProgramFailed(f"{self.text} printed no JSON object line; its last one holds the final metrics, "
                                f'like {{"{self.metric}": 0.25}}')
        for metric in self.metrics:
            if metric not in final:
                raise ProgramFailed(f"the last JSON line has no {metric!r}, the study's metric; its keys: "
                                    f"{shorten(', '.join(map(str, final)), 200)}")
            if as_number(final[metric]) is None:
                raise ProgramFailed(f"the last JSON line's {metric!r} is {describe(final[metric])}, not a number")
        return {k: v for k, v in final.items() if as_number(v) is not None}


def _torn_reports(line: str, metrics: tuple[str, ...]) -> list[dict]:
    """The JSON objects within a line of stdout that is not one, holding one of `metrics`, in order: the
    program's report torn by the bytes of a process it started writing to the same stdout. Objects without a
    metric there stay text (a log line quoting a config). Only starts with a metric's key in reach are tried,
    and the work is bounded by the line's length, whatever it holds."""
    keys = [m.start() for m in re.finditer("|".join(re.escape(json.dumps(m)) for m in metrics), line)]
    found: list[dict] = []
    start, budget = OBJECT_START.search(line) if keys else None, SEARCH_WORK * len(line)
    while start is not None and budget > 0:
        at = start.start()
        nearest = bisect.bisect_left(keys, at)
        if nearest == len(keys):
            break
        if keys[nearest] - at > TORN_REPORT:  # on to the starts in reach of the next metric's key
            start = OBJECT_START.search(line, keys[nearest] - TORN_REPORT)
            continue
        piece = line[at:at + TORN_REPORT]
        try:
            value, end = DECODER.raw_decode(piece)
        except json.JSONDecodeError as err:  # the work is what was read before it failed (a flood of "{"
            budget -= err.pos + 1  # starts each fails in a few characters)
            start = OBJECT_START.search(line, at + 1)
            continue
        except (ValueError, RecursionError):
            budget -= len(piece)
            start = OBJECT_START.search(line, at + 1)
            continue
        budget -= end
        if any(metric in value for metric in metrics):
            found.append(value)
        start = OBJECT_START.search(line, at + end)
    return found


def _json_object(line: str) -> dict | None:
    """The line as a JSON object, or None when it is anything else."""
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _end(process: subprocess.Popen) -> None:
    """Kill the program and everything it started: stopped first so it starts no more, then below it."""
    try:
        os.kill(process.pid, signal.SIGSTOP)
    except ProcessLookupError:
        return
    kill_below(process.pid)
    process.kill()
    process.wait()


def _tail(errors: deque) -> str:
    """`: ` and the last lines of the error output that fit a reason, or a note that there was none."""
    kept: list[str] = []
    size = 0
    for line in reversed(errors):
        size += len(line) + 3
        if kept and size > REASON_TAIL_CHARS:
            break
        kept.insert(0, line.strip())
    return ": " + shorten(" | ".join(kept), REASON_TAIL_CHARS) if kept else " (no error output)"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)

