"""Text from trials, files and journals is shown, never obeyed: a trial's stderr, a param's value or a note
that holds escape sequences (set the title, clear the screen) or markup reaches the terminal written out."""

import asyncio
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tui_tuner.spec import load_spec
from tui_tuner.study import Study

HOSTILE = "\x1b]0;pwned\x07\x1b[2J[red]x[/] [/]"  # sets the window title, clears the screen; markup
OBEYED = ("\x1b]0;pwned", "\x07", "\x1b[2J", "\x9b")  # what a terminal would act on

PROGRAM = """
import json, sys
args = dict(a[2:].split("=", 1) for a in sys.argv[1:])
if args["mode"] == "fail":
    sys.stderr.write(%r + " boom\\n")
    sys.exit(1)
print(json.dumps({"value": int(args["x"]) + args["mode"].startswith("[/]")}))
""" % HOSTILE

STUDY = """
name: hostile
objective: {command: "%s program.py", metric: value}
search: {strategy: grid, workers: 1}
params:
  mode: {type: categorical, choices: %s}
  x: {type: int, low: 1, high: %d}
"""
CHOICES = '["[/]\\e]0;pwned\\a", "[red]x[/]\\e[2J\\u009b2J", fail]'  # two finish, the third fails


def run_cli(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "tui_tuner.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          timeout=120, env={**os.environ, "COLUMNS": "200", **(env or {})})


def hostile_study_file(tmp_path: Path, choices: str = CHOICES, high: int = 2) -> Path:
    (tmp_path / "program.py").write_text(PROGRAM)
    path = tmp_path / "study.yaml"
    path.write_text(STUDY % (sys.executable, choices, high))
    return path


def assert_shown_not_obeyed(text: str) -> str:
    """`text` as a terminal shows it (rich's own colours taken out), after checking it obeys nothing."""
    for sequence in OBEYED:
        assert sequence not in text
    shown = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "\x1b" not in shown and "[red]x[/]" in shown  # markup shown as written, not read
    return shown


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "forced-terminal"])
def test_a_failing_programs_stderr_is_shown_written_out_in_the_run_output(tmp_path, terminal):
    done = run_cli("run", hostile_study_file(tmp_path), "--study", tmp_path / "s", cwd=tmp_path,
                   env={"FORCE_COLOR": "1"} if terminal else {})
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, err
    shown = assert_shown_not_obeyed(out)
    for sequence in OBEYED:
        assert sequence not in err
    assert "\\x1b]0;pwned\\x07" in shown and "4 finished, 2 failed" in shown


def test_a_study_whose_every_trial_fails_names_the_reason_in_one_safe_line(tmp_path):
    study_file = hostile_study_file(tmp_path, choices="[fail]", high=2)
    done = run_cli("run", study_file, "--study", tmp_path / "s", cwd=tmp_path)
    err = done.stderr.decode()
    assert done.returncode == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("tui-tuner: no trial finished: 2 failed") and "\\x1b]0;pwned\\x07" in last
    for sequence in OBEYED:
        assert sequence not in err + done.stdout.decode()


@pytest.fixture(scope="module")
def hostile_study(tmp_path_factory):
    """The hostile file's 15 trials (10 finished with hostile choices, 5 failed with the hostile stderr),
    run without the command line; a note on a trial and one on the study holding escapes and markup. Read
    only by the tests that share it."""
    where = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(where)
        study = Study.create(load_spec(hostile_study_file(where, high=5)), where / "s")
        asyncio.run(study.run())
        study.note(HOSTILE, number=0)
        study.note("\x9b2J" + HOSTILE)
    assert study.log.count("finished") == 10
    return where / "s"


def on_a_terminal(*args, cwd) -> str:
    """What a command prints to a pseudo-terminal."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "tui_tuner.cli", *map(str, args)], cwd=cwd, stdout=follower,
                            stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        assert ready, "no output in 60 s"
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the command ended and closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode()


def test_trials_to_a_terminal_writes_escapes_out_and_to_a_pipe_keeps_the_data(hostile_study, tmp_path):
    shown = on_a_terminal("trials", hostile_study, cwd=tmp_path)
    for sequence in OBEYED:
        assert sequence not in shown
    assert "\\x1b]0;pwned\\x07" in shown and "[red]x[/]" in shown
    piped = run_cli("trials", hostile_study, cwd=tmp_path).stdout.decode()
    assert HOSTILE in piped  # a file or a pipe gets the data exactly
    for fmt in ("json", "jsonl"):
        assert "\x1b" not in on_a_terminal("trials", hostile_study, "--format", fmt, cwd=tmp_path)


def test_analyze_and_compare_show_hostile_values_written_out(hostile_study, tmp_path):
    for args in (("analyze", hostile_study), ("compare", hostile_study, hostile_study)):
        shown = on_a_terminal(*args, cwd=tmp_path)
        assert "\x1b]0;pwned" not in shown and "\x07" not in shown and "\x1b[2J" not in shown


async def test_the_app_shows_a_hostile_reason_note_and_choices_as_written(hostile_study, tmp_path, monkeypatch):
    from textual.widgets import TabbedContent

    from tui_tuner.app import open_target
    from tui_tuner.app.app import TunerApp
    from tui_tuner.app.screens.trial_detail import TrialDetail

    monkeypatch.chdir(tmp_path)
    app = TunerApp(*open_target(str(hostile_study)))
    sent = []  # what the app writes to the terminal
    async with app.run_test(size=(160, 50)) as pilot:
        display = app._display

        def tee(screen, renderable) -> None:
            if hasattr(renderable, "render_segments"):
                sent.append(renderable.render_segments(app.console))
            display(screen, renderable)
        app._display = tee
        await pilot.pause(0.5)
        for tab in ("importance", "slice", "parallel", "contour", "history"):  # the choices drawn and named
            app.curves.query_one(TabbedContent).active = f"tab-{tab}"
            await pilot.pause(0.5)
        failed = next(r.number for r in app.study.log.records.values() if r.state == "failed")
        app.board.focus()
        app.board.move_cursor(row=app.board.get_row_index(str(failed)))
        await pilot.press("enter")
        assert isinstance(app.screen, TrialDetail)
        detail = str(app.screen.query_one("#trial-lines").render())
        assert "reason   ProgramFailed" in detail and "\\x1b]0;pwned\\x07\\x1b[2J[red]x[/] [/] boom" in detail
        await pilot.press("escape")
        app.board.move_cursor(row=app.board.get_row_index("0"))
        await pilot.press("enter")
        detail = str(app.screen.query_one("#trial-lines").render())
        assert "note     \\x1b]0;pwned\\x07\\x1b[2J[red]x[/] [/]" in detail and "mode = [/]\\x1b]0;pwned" in detail
        await pilot.press("escape", "n")  # the note to edit, as it shows
        assert app.screen.query_one("#path").value == "\\x1b]0;pwned\\x07\\x1b[2J[red]x[/] [/]"
        await pilot.press("escape", "m")  # a manual trial whose mode is none of the choices: the error quotes them
        app.screen.query_one("#manual-mode").value = "[/]"
        await pilot.pause(0.3)
        error = str(app.screen.query_one("#form-error").render())
        assert "must be one of" in error and "[red]x[/]\\x1b[2J" in error
        await pilot.press("escape")
        await pilot.pause(0.3)
    screen = "".join(sent)
    assert screen and "\x1b]0;pwned" not in screen and "\x07" not in screen and "\x1b[2J" not in screen


SECRET = "root:$6$s3cr3tsalt$s3cr3thash:19000:0:99999:7::\ndaemon:*:19000:0:99999:7:::\n"


@pytest.mark.parametrize("command", [["run", "study.yaml"], ["import", "wandb", "study.yaml"],
                                     ["lr-find", "study.yaml"]])
def test_a_study_file_linked_to_a_secret_is_refused_without_echoing_it(tmp_path, command):
    (tmp_path / "shadow").write_text(SECRET)
    (tmp_path / "study.yaml").symlink_to(tmp_path / "shadow")
    done = run_cli(*command, cwd=tmp_path)
    err = done.stderr.decode()
    assert done.returncode == 2 and err.count("\n") == 1 and err.startswith("tui-tuner: study.yaml")
    assert "s3cr3t" not in err and "root" not in err and done.stdout == b""


@pytest.mark.parametrize("text, problem", [
    ("objective: *s3cr3t_alias\n", "study.yaml:1: not valid YAML/JSON: found undefined alias (column 12)"),
    ("name: !s3cr3t_tag x\n", "study.yaml:1: not valid YAML/JSON: could not determine a constructor for the tag"),
    ("params: [1,\nroot:$6$s3cr3t\n", "study.yaml:3: not valid YAML/JSON: did not find expected ',' or ']'"),
    ("name: \"\\q s3cr3t\"\n", "study.yaml:1: not valid YAML/JSON: found unknown escape character"),
    ("name: !!int s3cr3t\n", "study.yaml: not valid YAML/JSON: a value that cannot be built"),
    ("name: !!timestamp s3cr3t\n", "a value that cannot be built"),
    ("root:$6$s3cr3t:1:\n", "study.yaml: has a key that is not one of name, objective, search, params, pruner"),
])
def test_a_study_file_that_does_not_parse_is_named_by_line_and_kind_never_by_its_content(tmp_path, text, problem):
    (tmp_path / "study.yaml").write_text(text)
    done = run_cli("run", "study.yaml", cwd=tmp_path)
    err = done.stderr.decode()
    assert done.returncode == 2 and err.count("\n") == 1 and problem in err and "s3cr3t" not in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["[", "!!int s3cr3t", "*s3cr3t"])
def test_an_lr_find_set_value_that_does_not_parse_is_one_line(tmp_path, value):
    (tmp_path / "study.yaml").write_text("objective: {model: softmax, dataset: iris}\n"
                                         "params: {optimizer: {type: categorical, choices: [sgd, adam]}}\n")
    done = run_cli("lr-find", "study.yaml", "--set", f"optimizer={value}", cwd=tmp_path)
    err = done.stderr.decode()
    assert done.returncode == 2 and err.count("\n") == 1 and err.startswith("tui-tuner: --set optimizer: ")
    assert "Traceback" not in err and ("s3cr3t" not in err or "got '*s3cr3t'" in err)  # what was typed, cut


def test_a_sweeps_comments_reach_a_terminal_written_out_and_a_pipe_as_they_are(tmp_path):
    (tmp_path / "sweep.yaml").write_text("# the sweep \u202e reversed\nprogram: train.py\nmethod: random\n"
                                         "metric: {name: loss, goal: minimize}\n"
                                         "parameters:\n  lr: {min: 0.001, max: 0.1}  # the rate \u202e\n")
    shown = on_a_terminal("import", "wandb", "sweep.yaml", cwd=tmp_path)
    assert "\u202e" not in shown and "the sweep \\u202e reversed" in shown
    assert "\u202e" in run_cli("import", "wandb", "sweep.yaml", cwd=tmp_path).stdout.decode()


def test_a_journal_line_or_cv_results_nested_past_what_json_reads_is_one_line(hostile_study, tmp_path):
    study = tmp_path / "s"
    study.mkdir()
    journal = (hostile_study / "journal.jsonl").read_text()
    (study / "journal.jsonl").write_text(journal + "[" * 100_000 + "\n")
    lines = journal.count("\n") + 1
    (tmp_path / "cv.json").write_text("[" * 100_000)
    for args, line in ((("trials", study), f"tui-tuner: {study}/journal.jsonl:{lines}: line {lines} is not a journal "
                                            "record (nested deeper than 64)"),
                       (("import", "sklearn", "cv.json", "--study", "new"),
                        "tui-tuner: cv.json: is not valid JSON here: nested too deep to read")):
        done = run_cli(*args, cwd=tmp_path)
        err = done.stderr.decode()
        assert done.returncode == 2 and err.count("\n") == 1 and err.startswith(line), err[-300:]
    assert not (tmp_path / "new").exists()


def test_an_unknown_event_is_quoted_short(hostile_study, tmp_path):
    study = tmp_path / "s"
    study.mkdir()
    (study / "journal.jsonl").write_text((hostile_study / "journal.jsonl").read_text()
                                         + '{"event": "%s"}\n' % ("s3cr3t" * 100))
    err = run_cli("trials", study, cwd=tmp_path).stderr.decode()
    assert err.count("\n") == 1 and "unknown event 's3cr3ts3cr3t" in err and err.count("s3cr3t") < 10


def test_a_study_directory_someone_named_with_escapes_is_resumed_and_shown_written_out(tmp_path):
    study_file = hostile_study_file(tmp_path)
    assert run_cli("run", study_file, "--study", "runs/hostile-\x1b]0;pwned\x07[red]x", cwd=tmp_path).returncode == 0
    done = run_cli("run", study_file, "--resume", cwd=tmp_path)  # the newest study directory of the file's
    out = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0 and "\x1b" not in out and "\x07" not in out
    assert "study directory: runs/hostile-\\x1b]0;pwned\\x07[red]x" in out
