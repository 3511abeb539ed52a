"""Outputs that cannot hurt: `--export`, `-o`, `lr-find --write`, the app's export and save, and every file a
study directory holds are written as regular files or new paths only, never through a link, over a device, a
fifo or a socket, nor over a file of a study directory; a directory someone else prepared with such things in
it is refused before anything is written. Each refusal is one line and exit 2; what was there is unharmed."""

import asyncio
import os
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tui_tuner.app.document import StudyDocument
from tui_tuner.cli import main
from tui_tuner.errors import TunerError
from tui_tuner.executors.pool import ProcessExecutor
from tui_tuner.objectives.command import ProgramFailed, TrialOutput
from tui_tuner.storage import Journal, StudyLog, open_atomic, read_journal, write_atomic

TESTS = Path(__file__).parent
STUDY = """\
    objective: {python: "obj.py:f"}
    search: {trials: 2, workers: 1, seed: 0}
    params:
      x: {type: float, low: 0.0, high: 1.0}
    """
SWEEP = ("program: train.py\nmethod: random\nmetric: {name: loss, goal: minimize}\n"
         "parameters:\n  lr: {min: 0.1, max: 1.0}\n")
OWN_FILES = ["journal.jsonl", "study.yaml", "lock", "checkpoint.pickle", "best.json", "journal.rejected.jsonl",
             "workers.log", "logs", "logs/trial-0.log"]


@pytest.fixture(scope="module")
def ended(tmp_path_factory):
    """A study of two finished trials, run once through the real CLI; each test works on a copy."""
    root = tmp_path_factory.mktemp("ended")
    (root / "obj.py").write_text("def f(params, trial):\n    return sum(params.values())\n")
    (root / "study.yaml").write_text(textwrap.dedent(STUDY))
    subprocess.run([sys.executable, "-m", "tui_tuner.cli", "run", "study.yaml", "--study", "ST"], cwd=root,
                   check=True, capture_output=True, timeout=120)
    return root


@pytest.fixture
def work(ended, tmp_path, monkeypatch):
    """A copy of the ended study's folder, as the working directory: study.yaml, obj.py, ST/."""
    shutil.copytree(ended, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    (tmp_path / "outside.txt").write_text("someone else's file\n")
    return tmp_path


def cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and err.startswith("tui-tuner: "), err
    return code, err


def finished(study_dir: Path) -> int:
    return StudyLog.replay(read_journal(study_dir / "journal.jsonl")).count("finished")


def make(path: Path, kind: str) -> None:
    """Put a hostile `kind` of thing at `path`: a link to a file outside, a fifo, a socket, a character device."""
    if kind == "symlink":
        path.symlink_to(Path.cwd() / "outside.txt")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(path, 0o644 | stat.S_IFCHR, os.makedev(1, 7))  # the numbers of /dev/full, made here in tmp_path
    else:
        raise ValueError(kind)


KIND_TEST = {"symlink": stat.S_ISLNK, "fifo": stat.S_ISFIFO, "socket": stat.S_ISSOCK, "device": stat.S_ISCHR}


def unharmed(path: Path, kind: str) -> bool:
    """Still what it was, and the file outside (what a link points to) unchanged."""
    return KIND_TEST[kind](os.lstat(path).st_mode) and Path("outside.txt").read_text() == "someone else's file\n"


# ------------------------------------------------------------------------- targets the user names

TARGET_COMMANDS = {
    "run --export": lambda target: ["run", "study.yaml", "--export", target],
    "trials -o": lambda target: ["trials", "ST", "-o", target],
    "import wandb -o": lambda target: ["import", "wandb", "sweep.yaml", "-o", target],
}


@pytest.mark.parametrize("command", TARGET_COMMANDS)
@pytest.mark.parametrize("kind", ["symlink", "fifo", "socket", "device"])
def test_a_target_that_is_no_regular_file_is_refused_and_left_as_it_was(work, capsys, command, kind):
    target = work / "target"
    make(target, kind)
    code, err = cli(capsys, *TARGET_COMMANDS[command](target))
    assert code == 2 and f"target: {command.split()[-1]}: is a {kind}; give the path of a regular file" in err
    assert unharmed(target, kind)
    assert not list(work.glob("runs/*"))  # no study started


def test_a_link_to_standard_output_is_not_replaced(work, capsys):
    target = work / "stdout"
    target.symlink_to("/proc/self/fd/1")
    code, err = cli(capsys, "trials", "ST", "-o", target)
    assert code == 2 and "is a symlink" in err and os.readlink(target) == "/proc/self/fd/1"


@pytest.mark.parametrize("command", TARGET_COMMANDS)
@pytest.mark.parametrize("parent", ["dangling", "loop"])
def test_a_target_under_a_link_that_leads_nowhere_is_refused_before_the_study_starts(work, capsys, command, parent):
    (work / parent).symlink_to("nowhere" if parent == "dangling" else parent)
    code, err = cli(capsys, *TARGET_COMMANDS[command](Path(parent) / "x.json"))
    assert code == 2 and f"cannot be created: {parent} is a symlink that leads nowhere" in err
    assert not list(work.glob("runs/*"))


@pytest.mark.parametrize("name", OWN_FILES)
def test_an_export_over_a_file_of_the_study_being_resumed_keeps_every_finished_trial(work, capsys, name):
    journal = (work / "ST" / "journal.jsonl").read_bytes()
    code, err = cli(capsys, "run", "study.yaml", "--resume", "--study", "ST", "--export", f"ST/{name}")
    assert code == 2 and f"ST/{name}: --export: is a file of the study directory" in err
    assert (work / "ST" / "journal.jsonl").read_bytes() == journal and finished(work / "ST") == 2


@pytest.mark.parametrize("command", TARGET_COMMANDS)
def test_no_output_lands_on_a_file_of_another_study(work, capsys, command):
    shutil.copytree(work / "ST", work / "OTHER")
    snapshot = (work / "OTHER" / "study.yaml").read_bytes()
    code, err = cli(capsys, *TARGET_COMMANDS[command](work / "OTHER" / "study.yaml"))
    assert code == 2 and "is a file of the study directory" in err
    assert (work / "OTHER" / "study.yaml").read_bytes() == snapshot


@pytest.mark.parametrize("args", [["run", "study.yaml", "--export", "./study.yaml"],
                                  ["import", "wandb", "sweep.yaml", "-o", "sweep.yaml"]])
def test_no_output_replaces_the_file_the_command_reads(work, capsys, args):
    before = (work / args[-1]).read_bytes()
    code, err = cli(capsys, *args)
    assert code == 2 and "is the file this command reads from" in err
    assert (work / args[-1]).read_bytes() == before


def test_an_export_into_the_new_study_directory_is_refused_before_it_is_made(work, capsys):
    code, err = cli(capsys, "run", "study.yaml", "--study", "NEW", "--export", "NEW/journal.jsonl")
    assert code == 2 and "NEW/journal.jsonl: --export: is a file of the study directory" in err
    assert not (work / "NEW").exists()


# ------------------------------------------------------------------------- a study directory prepared by someone else

@pytest.mark.parametrize("name", [name for name in OWN_FILES if name != "checkpoint.pickle"])  # the cache: a miss
@pytest.mark.parametrize("kind", ["symlink", "fifo", "device"])  # (tests/test_journal_order.py)
def test_a_study_directory_with_a_planted_file_is_refused_before_anything_is_written(work, capsys, name, kind):
    study = work / "ST"
    (study / "logs").mkdir(exist_ok=True)
    if (study / name).is_dir():
        shutil.rmtree(study / name)
    else:
        (study / name).unlink(missing_ok=True)
    make(study / name, kind)
    journal = b"" if name == "journal.jsonl" else (study / "journal.jsonl").read_bytes()
    for args in (["run", "study.yaml", "--resume", "--study", "ST"], ["repair", "ST"]):
        code, err = cli(capsys, *args)
        assert code == 2, err
        if name != "journal.jsonl" or kind == "symlink":  # a journal that is a fifo is no study to repair
            assert f"ST/{name}: is a {kind}" in err
        assert unharmed(study / name, kind)
        if journal:
            assert (study / "journal.jsonl").read_bytes() == journal


def test_a_planted_lock_link_does_not_get_the_pid_written_through_it(work, capsys):
    (work / "ST" / "lock").unlink()
    (work / "ST" / "lock").symlink_to(work / "outside.txt")
    code, err = cli(capsys, "run", "study.yaml", "--resume", "--study", "ST")
    assert code == 2 and "ST/lock: is a symlink" in err
    assert (work / "outside.txt").read_text() == "someone else's file\n"


def test_a_new_study_where_the_journal_is_a_fifo_is_refused_without_a_hang(work):
    (work / "NEW").mkdir()
    os.mkfifo(work / "NEW" / "journal.jsonl")
    p = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "run", "study.yaml", "--study", "NEW"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "NEW/journal.jsonl: is a fifo" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("args", [["run", "study.yaml", "--resume", "--study", "LINK"],
                                  ["run", "study.yaml", "--study", "LINK"],
                                  ["import", "sklearn", "cv.csv", "--study", "LINK"],
                                  ["repair", "LINK"]])
def test_a_study_directory_that_is_a_link_is_refused(work, capsys, args):
    (work / "cv.csv").write_text("mean_test_score,param_a\n0.5,1\n0.6,2\n")
    elsewhere = work / "ST" if "--resume" in args or args[0] == "repair" else work / "empty"
    elsewhere.mkdir(exist_ok=True)
    before = sorted(p.name for p in elsewhere.iterdir())
    (work / "LINK").symlink_to(elsewhere)
    code, err = cli(capsys, *args)
    assert code == 2 and "LINK" in err and "is a symlink" in err
    assert sorted(p.name for p in elsewhere.iterdir()) == before


def test_trials_is_not_held_up_by_a_lock_that_is_a_fifo(work):
    (work / "ST" / "lock").unlink()
    os.mkfifo(work / "ST" / "lock")
    p = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "trials", "ST"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 3


# ------------------------------------------------------------------------- at write time

@pytest.mark.parametrize("kind", ["symlink", "fifo", "device"])
def test_a_target_that_changed_while_it_was_written_is_not_replaced(work, kind):
    """The check as the file is renamed into place: a target that became a fifo, link or device since the
    command started (or since the write began) is refused, and no temporary file is left."""
    target = work / "best.json"
    with pytest.raises(OSError, match=f"is a {kind}"):
        with open_atomic(target) as f:
            f.write(b"{}")
            make(target, kind)
    assert unharmed(target, kind) and [p.name for p in work.glob(".best.json.*")] == []
    with pytest.raises(OSError, match=f"is a {kind}"):
        write_atomic(target, "{}")
    assert unharmed(target, kind)


def test_the_journal_is_never_appended_through_a_link(work):
    (work / "ST" / "journal.jsonl").rename(work / "real.jsonl")
    (work / "ST" / "journal.jsonl").symlink_to(work / "real.jsonl")
    before = (work / "real.jsonl").read_bytes()
    with pytest.raises(OSError, match="is a symlink"):
        Journal(work / "ST" / "journal.jsonl")
    assert (work / "real.jsonl").read_bytes() == before


@pytest.mark.parametrize("planted", ["file", "folder"])
def test_a_trial_log_is_never_written_through_a_link(work, planted):
    logs = work / "ST" / "logs"
    if planted == "file":
        logs.mkdir()
        (logs / "trial-3.log").symlink_to(work / "outside.txt")
    else:
        (work / "elsewhere").mkdir()
        logs.symlink_to(work / "elsewhere")
    with pytest.raises(ProgramFailed, match="is a symlink"):
        TrialOutput(str(logs / "trial-3.log"))
    assert (work / "outside.txt").read_text() == "someone else's file\n" and not list(work.glob("elsewhere/*"))


def test_the_workers_log_is_never_written_through_a_link(work, monkeypatch):
    """A link planted after the study directory was checked: the trial runs, its output goes nowhere."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.syspath_prepend(str(TESTS))
    import output_objectives

    (work / "ST" / "workers.log").unlink(missing_ok=True)
    (work / "ST" / "workers.log").symlink_to(work / "outside.txt")

    async def run_one():
        pool = ProcessExecutor(1, log_path=work / "ST" / "workers.log")
        try:
            return await pool.run(output_objectives.prints, {}, number=0, seed=0)
        finally:
            await pool.close()

    assert asyncio.run(run_one()).state == "finished"
    assert (work / "ST" / "workers.log").is_symlink() and (work / "outside.txt").read_text() == "someone else's file\n"


# ------------------------------------------------------------------------- lr-find --write and the app

LR_STUDY = """\
objective: {model: softmax, dataset: digits}
params:
  learning_rate: {type: float, low: 1.0e-6, high: 10.0, log: true}
"""


def test_lr_find_write_does_not_write_through_a_linked_study_file(work, capsys):
    (work / "real.yaml").write_text(LR_STUDY)
    (work / "linked.yaml").symlink_to(work / "real.yaml")
    code, err = cli(capsys, "lr-find", "linked.yaml", "--write", "--steps", "8")
    assert code == 2 and "linked.yaml: --write: is a symlink; give the path of a regular file" in err
    assert (work / "linked.yaml").is_symlink() and (work / "real.yaml").read_text() == LR_STUDY


def test_the_app_saves_no_study_file_through_a_link_nor_over_a_study_snapshot(work):
    (work / "linked.yaml").symlink_to(work / "study.yaml")
    before = (work / "study.yaml").read_text()
    for path in (work / "linked.yaml", work / "ST" / "study.yaml"):
        document = StudyDocument.load(path, base_dir=work)
        document.raw["search"]["trials"] = 9
        with pytest.raises(TunerError):
            document.save()
    assert (work / "linked.yaml").is_symlink() and (work / "study.yaml").read_text() == before
    assert "trials: 9" not in (work / "ST" / "study.yaml").read_text()


def test_the_apps_export_refuses_a_fifo_and_a_file_of_the_study(work):
    from tui_tuner.app.session import StudySession
    from tui_tuner.study import Study

    study = Study.open(work / "ST")
    session = StudySession(StudyDocument.from_spec(study.spec, work / "ST.yaml"), study)
    os.mkfifo(work / "fifo")
    for target, message in ((work / "fifo", "is a fifo"), (work / "ST" / "journal.jsonl", "file of the study")):
        with pytest.raises(TunerError, match=message):
            session.export(str(target))
    assert stat.S_ISFIFO(os.lstat(work / "fifo").st_mode) and finished(work / "ST") == 2
