"""`tui-tuner run` on bad input and bad paths, as a user meets it: one line and exit 2 before any trial,
a study that cannot finish a trial says why (exit 1), and a study file cannot take the machine."""

import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tui_tuner import InputError, SearchSpace, make_searcher
from tui_tuner.cli import main
from tui_tuner.storage import StudyLog, read_journal

TESTS = Path(__file__).parent
OBJECTIVE = "def f(params, trial):\n    return sum(params.values())\n\n" \
            "def broken(params, trial):\n    raise ValueError('the data has no column called label')\n"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Each test in its own folder, so runs/ and relative paths land there."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "obj.py").write_text(OBJECTIVE)


def study(tmp_path, body: str, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


PYTHON_STUDY = """\
    objective: {python: "obj.py:f"}
    search: {trials: 2, workers: 1}
    params:
      x: {type: float, low: 0.0, high: 1.0}
    """


def run_cli(*args, timeout=120, memory=None):
    """(exit code, stdout, stderr) of `tui-tuner ARGS`; `memory` caps the address space, in bytes."""
    limit = (lambda: resource.setrlimit(resource.RLIMIT_AS, (memory, memory))) if memory else None
    p = subprocess.run([sys.executable, "-m", "tui_tuner.cli", *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, preexec_fn=limit, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def assert_one_line(code, err, expected_code=2):
    assert code == expected_code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and err.startswith("tui-tuner: "), err


# ------------------------------------------------------------------------------------------------ paths

@pytest.mark.parametrize("args, fragment", [
    (["--export", "afile/best.json"], "afile/best.json: --export: cannot be created: afile is a file"),
    (["--export", "/proc/best.json"], "/proc/best.json: --export: cannot write in /proc"),
    (["--export", "."], "--export: is a directory"),
    (["--study", "afile/sub"], "afile/sub: --study: cannot be created: afile is a file"),
    (["--study", "afile"], "afile: --study: is a file, not a directory"),
    (["--study", "d" * 300], "longer than 255 bytes"),
])
def test_paths_that_cannot_be_written_are_refused_before_the_study_starts(tmp_path, capsys, args, fragment):
    (tmp_path / "afile").write_text("a file, not a folder\n")
    code = main(["run", str(study(tmp_path, PYTHON_STUDY)), *args])
    err = capsys.readouterr().err
    assert_one_line(code, err)
    assert fragment in err
    assert not list(tmp_path.glob("runs/*/journal.jsonl"))  # no trial ran


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder this process cannot write: chmod for a plain user, a read-only mount for root (which
    chmod does not stop)."""
    path = tmp_path / "ro"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)]).returncode:
        pytest.skip("cannot mount a read-only file system here")
    yield path
    subprocess.run(["umount", "-l", str(path)])


def test_a_read_only_study_directory_is_refused_before_the_study_starts(tmp_path, capsys, read_only_dir):
    code = main(["run", str(study(tmp_path, PYTHON_STUDY)), "--study", str(read_only_dir)])
    err = capsys.readouterr().err
    assert_one_line(code, err)
    assert f"{read_only_dir}: --study: cannot write in {read_only_dir}" in err


@pytest.mark.slow
def test_a_300_character_name_gets_a_shortened_default_directory(tmp_path):
    name = "n" * 300
    code, out, err = run_cli("run", study(tmp_path, f"name: {name}\n" + textwrap.dedent(PYTHON_STUDY)))
    assert code == 0, err
    directory, = (tmp_path / "runs").iterdir()
    assert directory.name.startswith("n" * 80 + "-") and len(directory.name) < 100
    assert len(StudyLog.replay(read_journal(directory / "journal.jsonl")).finished()) == 2
    code, _, err = run_cli("run", study(tmp_path, f"name: {name}\n" + textwrap.dedent(PYTHON_STUDY)), "--resume")
    assert code == 0, err  # --resume without --study finds the shortened directory


# ------------------------------------------------------------------------------------- every trial failed

def test_a_study_in_which_every_trial_failed_exits_1_with_the_first_reason(tmp_path):
    path = study(tmp_path, PYTHON_STUDY.replace("obj.py:f", "obj.py:broken"))
    code, _, err = run_cli("run", path, "--study", tmp_path / "s")
    assert code == 1
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == ("tui-tuner: no trial finished: 2 failed; the first (trial 0): "
                                             "ValueError: the data has no column called label")


# ------------------------------------------------------------------------------------------ bad input

BAD_OPTIONS = [  # one bad option of each strategy, and the one line that says so wherever it is given
    ("random", "sobol", "maybe", "search.sobol: must be true or false, got 'maybe'"),
    ("grid", "default_num", 1, "search.default_num: must be a whole number from 2 to 1000, got 1"),
    ("genetic", "population", 1, "search.population: must be a whole number, at least 2, got 1"),
    ("genetic", "crossover", "one", "search.crossover: must be one of uniform, blend, got 'one'"),
    ("genetic", "mutation", 2, "search.mutation: must be a number in (0, 1], got 2"),
    ("bayes", "candidates", 0, "search.candidates: must be a whole number from 16 to 100000, got 0"),
    ("bayes", "kappa", -1, "search.kappa: must be a positive number, got -1"),
    ("bayes", "acquisition", "ei", "search.acquisition: must be one of log_ei, ucb, pi, got 'ei'"),
]


@pytest.mark.parametrize("strategy, key, value, message", BAD_OPTIONS)
def test_a_bad_strategy_option_is_one_line_in_one_wording(tmp_path, capsys, strategy, key, value, message):
    path = study(tmp_path, PYTHON_STUDY.replace("search: {", f"search: {{strategy: {strategy}, {key}: {value}, "))
    code = main(["run", str(path), "--study", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert_one_line(code, err)
    assert err.strip() == f"tui-tuner: {path}:2: {message}"
    assert not (tmp_path / "s").exists()
    with pytest.raises(InputError) as raised:  # the library says it the same way
        make_searcher(strategy, SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}}),
                      **{key: value})
    assert str(raised.value) == message


def test_a_fixed_value_the_model_rejects_is_refused_before_the_first_trial(tmp_path, capsys):
    path = study(tmp_path, """\
        objective:
          model: sklearn.linear_model.LogisticRegression
          dataset: iris
          fixed:
            C: notanumber
        params:
          tol: {type: float, low: 1.0e-5, high: 1.0e-2, log: true}
        """)
    code = main(["run", str(path), "--study", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert_one_line(code, err)
    assert f"{path}:5: objective.fixed.C: The 'C' parameter of LogisticRegression must be a float" in err
    assert not (tmp_path / "s").exists()


def test_our_own_models_check_fixed_values_too(tmp_path, capsys):
    path = study(tmp_path, """\
        objective: {model: mlp, dataset: iris, fixed: {activation: sigmoidish}}
        params: {learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}}
        """)
    code = main(["run", str(path)])
    err = capsys.readouterr().err
    assert_one_line(code, err)
    assert "objective.fixed.activation: The 'activation' parameter of MLPClassifier must be one of" in err


@pytest.mark.parametrize("csv", ["/dev/zero", "fifo.csv", "adir"])
def test_a_dataset_that_is_not_a_regular_file_is_refused_at_once(tmp_path, csv):
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "adir").mkdir()
    path = study(tmp_path, f"""\
        objective: {{model: sklearn.linear_model.LogisticRegression, dataset: {{csv: {csv}, target: y}}}}
        params: {{C: {{type: float, low: 0.1, high: 1.0}}}}
        """)
    code, _, err = run_cli("run", path, timeout=30)  # reading /dev/zero or a FIFO would never end
    assert_one_line(code, err)
    assert "not a CSV file" in err


@pytest.mark.parametrize("shuffle", [False, True])
def test_two_trials_of_a_5_to_the_14_grid_run_in_little_memory(tmp_path, shuffle):
    params = "".join(f"  x{i}: {{type: float, low: 0.0, high: 1.0}}\n" for i in range(14))
    path = study(tmp_path, f'objective: {{python: "obj.py:f"}}\n'
                           f"search: {{strategy: grid, trials: 2, workers: 1, shuffle: {str(shuffle).lower()}}}\n"
                           f"params:\n{params}")
    code, _, err = run_cli("run", path, "--study", tmp_path / "s", timeout=60, memory=3 << 30)
    assert code == 0, err[-500:]
    log = StudyLog.replay(read_journal(tmp_path / "s" / "journal.jsonl"))
    assert len(log.finished()) == 2
    configs = [r.params for r in log.finished()]
    assert configs[0] != configs[1] and all(len(c) == 14 for c in configs)


def test_an_estimator_whose_required_argument_is_tuned_still_loads(tmp_path):
    from tui_tuner.spec import load_spec

    (tmp_path / "needy.py").write_text(textwrap.dedent("""\
        from sklearn.base import BaseEstimator, ClassifierMixin

        class Needy(ClassifierMixin, BaseEstimator):
            def __init__(self, alpha, beta=1):
                self.alpha, self.beta = alpha, beta

            def fit(self, X, y):
                return self
        """))
    sys.path.insert(0, str(tmp_path))
    try:
        spec = load_spec(study(tmp_path, """\
            objective: {model: needy.Needy, dataset: iris, fixed: {beta: 2}}
            params: {alpha: {type: float, low: 0.1, high: 1.0}}
            """))
    finally:
        sys.path.remove(str(tmp_path))
    assert spec.objective.fixed == {"beta": 2}


@pytest.mark.parametrize("kind", ["fifo", "device", "oversized"])
def test_a_study_file_that_is_no_regular_file_or_too_large_is_one_line_never_a_hang(tmp_path, kind):
    """A fifo would block the open forever and /dev/zero the read; both are named, as is a 17 MiB file."""
    if kind == "fifo":
        path = tmp_path / "study.yaml"
        os.mkfifo(path)
        fragment = "is a fifo, not a study file"
    elif kind == "device":
        path, fragment = Path("/dev/zero"), "is a device, not a study file"
    else:
        path = tmp_path / "study.yaml"
        path.write_text("# padding\n" * (17 << 17))
        fragment = "larger than 16 MiB"
    code, _, err = run_cli("run", path, timeout=30)
    assert_one_line(code, err)
    assert fragment in err, err
