"""The command objective as a user meets it: their own script, run once a trial with its params as
arguments, its JSON lines as curves and final metrics, its other output in the trial's log, its failures,
pruning and timeouts ending the program and everything it started."""

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tui_tuner import InputError
from tui_tuner.app import open_target
from tui_tuner.app.app import TunerApp
from tui_tuner.app.screens.trial_detail import TrialDetail
from tui_tuner.objectives.command import LOG_HEAD_BYTES, arguments
from tui_tuner.records import Finished, Reported
from tui_tuner.spec import load_spec
from tui_tuner.storage import read_journal, trial_log_path
from tui_tuner.study import Study

PYTHON = sys.executable


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def study_file(tmp_path, command: str, *, params: str = "x: {type: float, low: 0.0, high: 1.0}",
               metric: str = "val_loss", search: str = "trials: 2, workers: 1", extra: str = "") -> Path:
    return write(tmp_path, "study.yaml", f"""\
        objective: {{command: {json.dumps(command)}, metric: {metric}{extra}}}
        search: {{{search}, seed: 0}}
        params: {{{params}}}
        """)


def run_study(path: Path) -> Study:
    study = Study.create(load_spec(path), path.parent / "run")
    asyncio.run(study.run())
    return study


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie has ended: it only waits to be collected)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


# ------------------------------------------------------------------------------------------ arguments

def test_params_and_fixed_values_arrive_as_arguments_in_the_study_files_folder(tmp_path):
    write(tmp_path, "train.py", """\
        import json, os, sys
        print(json.dumps({"args": sys.argv[1:], "cwd": os.getcwd(), "trial": os.environ["TUI_TUNER_TRIAL"]}),
              file=open(f"args-{os.environ['TUI_TUNER_TRIAL']}.json", "w"))
        print(json.dumps({"val_loss": 0.5}))
        """)
    path = study_file(tmp_path, f"{PYTHON} train.py --width={{width}}", extra=", fixed: {epochs: 3, amp: true}",
                      params="lr: {type: float, low: 0.01, high: 0.1}, width: {type: int, low: 8, high: 64}")
    study = run_study(path)
    for rec in study.log.records.values():
        seen = json.loads((tmp_path / f"args-{rec.number}.json").read_text())
        assert seen["cwd"] == str(tmp_path.resolve())
        assert seen["args"] == [f"--width={rec.params['width']}", "--epochs=3", "--amp=True",
                                f"--lr={rec.params['lr']!r}"]
        assert float(seen["args"][-1].split("=")[1]) == rec.params["lr"]  # every digit: the same float


def test_values_are_rendered_the_way_the_docstring_says():
    values = {"lr": 1e-05, "layers": [16, 32], "amp": False, "momentum": None, "opt": "adam"}
    assert arguments(["train", "--opt", "{opt}", "--m={momentum}", "{{literal}}"], values) == [
        "train", "--opt", "adam", "{literal}", "--lr=1e-05", "--layers=[16,32]", "--amp=False"]


# ------------------------------------------------------------------------------------------ reports and logs

CURVES = """\
    import json, sys
    x = float(sys.argv[1].split("=")[1])
    print("loading data", flush=True)
    print("a warning on stderr", file=sys.stderr)
    for epoch in range(3):
        print(json.dumps({"epoch": epoch, "loss": x + 1 - epoch / 10, "lr": 0.1, "note": "text is left out"}))
    print("{not json at all")
    print(json.dumps({"val_loss": x, "accuracy": 1 - x, "model": "mlp"}))
    """


def test_curve_reports_and_final_metrics_land_in_the_journal(tmp_path):
    write(tmp_path, "train.py", CURVES)
    study = run_study(study_file(tmp_path, f"{PYTHON} train.py", search="trials: 4, workers: 2"))
    assert len(study.log.records) == 4
    records = read_journal(study.directory / "journal.jsonl")
    for rec in study.log.records.values():
        assert rec.state == "finished", rec.reason
        reports = [(r.step, r.values) for r in records if isinstance(r, Reported) and r.number == rec.number]
        assert [step for step, _ in reports] == [0, 1, 2]
        assert reports[0][1] == {"loss": pytest.approx(rec.params["x"] + 1), "lr": 0.1}
        finished = next(r for r in records if isinstance(r, Finished) and r.number == rec.number)
        assert finished.value == pytest.approx(rec.params["x"])
        assert finished.metrics == {"val_loss": pytest.approx(rec.params["x"]),
                                    "accuracy": pytest.approx(1 - rec.params["x"])}


async def test_other_output_goes_to_the_trials_log_which_the_detail_view_shows(tmp_path):
    write(tmp_path, "train.py", CURVES)
    path = study_file(tmp_path, f"{PYTHON} train.py")
    study = Study.create(load_spec(path), tmp_path / "run")
    await study.run()
    for number in (0, 1):
        lines = trial_log_path(study.directory, number).read_text().splitlines()
        assert set(lines) == {"loading data", "a warning on stderr", "{not json at all"}
    app = TunerApp(*open_target(str(study.directory)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        app.board.focus()
        await pilot.press("enter")
        assert isinstance(app.screen, TrialDetail)
        shown = str(app.screen.query_one("#trial-lines").render())
        assert "loading data" in shown and "a warning on stderr" in shown


def test_a_chatty_program_keeps_a_bounded_log_with_its_last_lines(tmp_path):
    write(tmp_path, "train.py", """\
        import json
        for i in range(40000):
            print(f"line {i} " + "." * 40)
        print(json.dumps({"val_loss": 1.0}))
        """)
    study = run_study(study_file(tmp_path, f"{PYTHON} train.py", search="trials: 1, workers: 1"))
    log = trial_log_path(study.directory, 0)
    assert log.stat().st_size < LOG_HEAD_BYTES + 50_000
    lines = log.read_text().splitlines()
    assert lines[0].startswith("line 0 ") and lines[-1].startswith("line 39999 ")
    assert any("lines cut" in line for line in lines)


# ------------------------------------------------------------------------------------------ failures

@pytest.mark.parametrize("script, words", [
    ("import sys\nprint('step one done')\nprint('Traceback...', file=sys.stderr)\n"
     "print('ValueError: no column called label', file=sys.stderr)\nsys.exit(3)",
     ["exited with code 3", "ValueError: no column called label"]),
    ("import json\nprint(json.dumps({'loss': 1.0, 'epoch_time': 2}))",
     ["no 'val_loss'", "its keys: loss, epoch_time"]),
    ("print('done, but no metrics')", ["printed no JSON object line"]),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", ["killed by signal SIGKILL"]),
])
def test_a_program_that_fails_fails_its_trial_with_the_reason(tmp_path, script, words):
    write(tmp_path, "train.py", script)
    study = run_study(study_file(tmp_path, f"{PYTHON} train.py", search="trials: 1, workers: 1"))
    rec = study.log.records[0]
    assert rec.state == "failed"
    for word in words:
        assert word in rec.reason, rec.reason


LONG_RUNNING = """\
    import json, os, subprocess, sys, time
    role = sys.argv[1].split("=")[1]
    if role == "good":
        for step in range(3):
            print(json.dumps({"step": step, "val_loss": 0.1}))
        print(json.dumps({"val_loss": 0.1}))
    elif role == "bad":
        child = subprocess.Popen(["sleep", "300"])
        open("pids", "w").write(f"{os.getpid()} {child.pid}")
        for step in range(100000):
            print(json.dumps({"step": step, "val_loss": 5.0}))
            time.sleep(0.05)
    else:
        pids = [int(p) for p in open("pids").read().split()]
        states = [open(f"/proc/{p}/stat").read().rpartition(")")[2].split()[0]
                  if os.path.exists(f"/proc/{p}/stat") else "gone" for p in pids]
        print(json.dumps({"val_loss": 1.0, "left_running": sum(s not in ("gone", "Z", "X") for s in states)}))
    """


def test_pruning_ends_the_program_and_what_it_started(tmp_path):
    write(tmp_path, "train.py", LONG_RUNNING)
    path = study_file(tmp_path, f"{PYTHON} train.py", params="role: {type: categorical, choices: [good, bad, check]}",
                      search="strategy: grid, workers: 1, trial_timeout: 60")
    path.write_text(path.read_text() + "pruner: {name: median, warmup: 1, min_trials: 1}\n")
    study = run_study(path)
    good, bad, check = (study.log.records[n] for n in range(3))
    assert good.state == "finished" and bad.state == "pruned", bad.reason
    assert bad.duration < 20
    assert check.state == "finished" and check.metrics["left_running"] == 0  # gone before the next trial began


def test_a_timeout_kills_the_program_and_its_children(tmp_path):
    write(tmp_path, "train.py", """\
        import os, subprocess, time
        child = subprocess.Popen(["sleep", "300"])
        escaped = subprocess.Popen(["sleep", "300"], start_new_session=True)
        open("pids", "w").write(f"{os.getpid()} {child.pid} {escaped.pid}")
        time.sleep(300)
        """)
    study = run_study(study_file(tmp_path, f"{PYTHON} train.py", search="trials: 1, workers: 1, trial_timeout: 2"))
    rec = study.log.records[0]
    assert rec.state == "failed" and "timed out" in rec.reason
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    assert not [pid for pid in pids if alive(pid)]


def test_a_resumed_study_runs_the_program_for_the_trials_left(tmp_path):
    write(tmp_path, "train.py", CURVES)
    path = study_file(tmp_path, f"{PYTHON} train.py")
    study = run_study(path)
    resumed = Study.open(study.directory, write=True, trials=3)
    asyncio.run(resumed.run())
    assert [r.state for r in resumed.log.records.values()] == ["finished"] * 3
    assert trial_log_path(study.directory, 2).is_file()


# ------------------------------------------------------------------------------------------ bad study files

@pytest.mark.parametrize("command, extra, words", [
    ("", "", "objective.command: is empty"),
    ("no-such-program-xyz train.py", "", "objective.command: program 'no-such-program-xyz' is not found on PATH"),
    ("python missing.py", "", "objective.command: no such file:"),
    ("./run.sh", "", "objective.command: no such file:"),
    ("python 'train.py", "", "objective.command: cannot be split into words"),
    ("python train.py --lr={lr}", "", "objective.command: {lr} names no param or fixed value (known: x)"),
])
def test_a_bad_command_is_one_line_naming_the_file_and_field(tmp_path, command, extra, words):
    write(tmp_path, "train.py", "open('ran', 'w')\n")
    path = study_file(tmp_path, command, extra=extra)
    with pytest.raises(InputError) as err:
        load_spec(path)
    assert str(err.value).startswith(f"{path}:1: ") and words in str(err.value), str(err.value)
    assert not (tmp_path / "ran").exists()


def test_the_metric_is_required(tmp_path):
    write(tmp_path, "train.py", "")
    path = write(tmp_path, "study.yaml", """\
        objective: {command: "python train.py"}
        params: {x: {type: float, low: 0.0, high: 1.0}}
        """)
    with pytest.raises(InputError, match="objective.metric: is missing"):
        load_spec(path)


def test_loading_runs_nothing_and_run_exits_2_with_one_line(tmp_path):
    write(tmp_path, "train.py", "open('ran', 'w')\n")
    path = study_file(tmp_path, "python train.py --lr={lr}")
    result = subprocess.run([PYTHON, "-m", "tui_tuner.cli", "run", str(path)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "objective.command" in result.stderr and str(path) in result.stderr
    assert not (tmp_path / "ran").exists()


# ------------------------------------------------------------------------------------------ the PyTorch sample

SAMPLE = Path(__file__).parent.parent / "sample_spaces" / "torch_digits.py"


def test_the_torch_sample_without_torch_says_how_to_install_it():
    hide_torch = ("import runpy, sys; sys.modules['torch'] = None; sys.argv = ['torch_digits.py']; "
                  f"runpy.run_path({str(SAMPLE)!r}, run_name='__main__')")
    result = subprocess.run([PYTHON, "-c", hide_torch], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "pip install torch" in result.stderr


def test_the_torch_sample_reports_each_epoch_and_its_final_metrics():
    pytest.importorskip("torch")
    result = subprocess.run([PYTHON, str(SAMPLE), "--epochs=2", "--lr=0.01", "--hidden=32"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line.get("epoch") for line in lines] == [0, 1, None]
    assert {"loss", "val_loss", "accuracy", "lr"} <= set(lines[0]) and lines[-1]["accuracy"] > 0.5


def test_a_process_left_running_with_the_programs_output_does_not_hold_the_trial(tmp_path):
    write(tmp_path, "train.py", """\
        import json, subprocess
        subprocess.Popen(["sleep", "60"])  # inherits standard output and keeps it open
        print(json.dumps({"val_loss": 0.5}))
        """)
    study = run_study(study_file(tmp_path, f"{PYTHON} train.py", search="trials: 1, workers: 1"))
    rec = study.log.records[0]
    assert rec.state == "finished" and rec.duration < 10, rec.reason


def test_several_metrics_each_with_its_direction(tmp_path):
    write(tmp_path, "train.py", CURVES)
    path = study_file(tmp_path, f"{PYTHON} train.py", metric="[val_loss, accuracy], direction: [minimize, maximize]")
    study = run_study(path)
    for rec in study.log.records.values():
        assert rec.values == [pytest.approx(rec.params["x"]), pytest.approx(1 - rec.params["x"])]


def test_the_final_line_is_found_when_a_child_writes_to_the_same_stdout(tmp_path):
    """A background child floods the shared stdout (no newline for long stretches) while the program prints
    its final JSON line: every trial finishes with the program's value, not "printed no JSON object line"."""
    write(tmp_path, "train.py", """\
        import argparse, json, subprocess, sys, time
        p = argparse.ArgumentParser()
        p.add_argument("--x", type=float)
        x = p.parse_args().x
        noise = ("import os\\nos.write(1, b'noise')\\nos.write(2, b'.')\\nwhile True:\\n"
                 "    os.write(1, b'noise {not json} {\\"a\\": [1' * 300)\\n")
        child = subprocess.Popen([sys.executable, "-c", noise], stderr=subprocess.PIPE)
        child.stderr.read(1)  # it floods the stdout from now on
        print(json.dumps({"epoch": 0, "val_loss": x + 1}))
        time.sleep(0.02)
        print(json.dumps({"val_loss": x}))
        time.sleep(0.02)
        child.kill()
        """)
    study = run_study(study_file(tmp_path, f"{PYTHON} train.py", search="trials: 6, workers: 1"))
    records = study.log.records.values()
    assert [r.state for r in records] == ["finished"] * 6, [r.reason for r in records]
    assert all(r.value == r.params["x"] for r in records)


def test_a_report_after_many_torn_starts_on_a_short_line_is_found():
    """Each `{` of the other writer's bytes fails to parse in a few characters; the search is charged what it
    read, so a report after hundreds of them is still found (it was charged 4 KB a start, and gave up)."""
    from tui_tuner.objectives.command import _torn_reports

    line = 'noise {"a": [1' * 250 + '{"val_loss": 0.5}' + " tail"
    assert _torn_reports(line, ("val_loss",)) == [{"val_loss": 0.5}]
