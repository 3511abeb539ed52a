"""The LR range test: a suggestion near a known-good rate, the plot, and `lr-find --write` editing in place."""

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from tui_tuner.cli import main
from tui_tuner.errors import InputError
from tui_tuner.lr_finder import NoRangeFound, analyse, change, narrow_study_file, narrowed, plot
from tui_tuner.models import MLPClassifier


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_suggestion_is_within_10x_of_the_best_rate_of_a_grid(digits, optimizer):
    X, y = digits
    rates, losses = MLPClassifier(hidden_units=32, optimizer=optimizer, batch_size=32,
                                  random_state=0).lr_range_test(X, y)
    test = analyse(rates, losses)
    assert test.exploded and test.low < test.suggested <= test.high <= test.lowest_loss_rate
    grid = 10.0 ** np.arange(-5, 0.6, 0.5)  # the known-good rate: lowest validation loss after 3 epochs
    val_loss = []
    for lr in grid:
        try:
            model = MLPClassifier(hidden_units=32, optimizer=optimizer, batch_size=32, learning_rate=lr, epochs=3,
                                  random_state=0).fit(X[:1400], y[:1400], validation=(X[1400:], y[1400:]))
            val_loss.append(model.history_[-1]["val_loss"])
        except ValueError:  # diverged
            val_loss.append(np.inf)
    good = grid[int(np.argmin(val_loss))]
    assert good / 10 <= test.suggested <= good * 10


def test_the_plot_marks_the_suggestion_and_range():
    rates = np.logspace(-7, 0, 60)
    losses = 2.3 - 2.0 / (1 + np.exp(-(np.log10(rates) + 3) * 3)) + np.where(rates > 0.3, 50 * rates, 0)
    test = analyse(rates, losses)
    assert 1e-4 < test.suggested < 1e-2
    text = plot(test, color=False)
    assert "suggested" in text and "range" in text and "\x1b" not in text


def test_narrowing_keeps_every_other_line(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("# my study\nparams:\n  learning_rate: {type: float, low: 1.0e-6, high: 1.0, log: true}  # wide\n"
                    "  units: {type: int, low: 1, high: 9}\n")
    narrow_study_file(path, {"type": "float", "low": 2.5e-7, "high": 0.25, "log": True})
    text = path.read_text()
    assert text.startswith("# my study\n") and "# wide" in text and "units: {type: int, low: 1, high: 9}" in text
    assert yaml.safe_load(text)["params"]["learning_rate"] == {"type": "float", "low": 2.5e-7, "high": 0.25,
                                                               "log": True}  # 2.5e-07 would read as a string


def test_lr_find_prints_the_suggestion_and_writes_the_range(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "study.yaml"
    path.write_text("""\
objective: {model: softmax, dataset: digits}
params:
  learning_rate: {type: float, low: 1.0e-6, high: 10.0, log: true}   # to be narrowed
  optimizer: {type: categorical, choices: [sgd]}
""")
    assert main(["lr-find", str(path), "--write", "--steps", "60"]) == 0
    out = capsys.readouterr().out
    suggested = float(out.split("suggested learning rate: ")[1].split()[0])
    bounds = yaml.safe_load(path.read_text())["params"]["learning_rate"]
    assert bounds["low"] < suggested < bounds["high"] and bounds["low"] > 1e-6 and bounds["high"] <= 10
    assert "to be narrowed" in path.read_text() and "LR range test" in out
    assert "params.learning_rate narrowed: 1e-06 to 10 is now" in out and "the middle of the search space" in out


@pytest.mark.parametrize("args, message", [
    (["--set", "optimizer=adamx"], "--set optimizer: must be one of"),
    (["--set", "units=3"], "--set 'units=3': expected NAME=VALUE with NAME one of"),
])
def test_lr_find_mistakes_are_one_line(tmp_path, capsys, args, message):
    path = tmp_path / "study.yaml"
    path.write_text("objective: {model: softmax, dataset: iris}\n"
                    "params: {optimizer: {type: categorical, choices: [sgd, adam]}}\n")
    assert main(["lr-find", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_lr_find_refuses_models_it_cannot_drive(tmp_path, capsys):
    path = tmp_path / "study.yaml"
    path.write_text("objective: {model: sklearn.svm.SVC, dataset: iris}\nparams: {C: {type: float, low: 0.1, "
                    "high: 10}}\n")
    assert main(["lr-find", str(path)]) == 2
    assert "objective.model: the LR range test needs a built-in model" in capsys.readouterr().err


def test_noise_in_the_first_batches_does_not_pick_a_tiny_rate():
    rates = np.logspace(-7, 0.5, 92)
    losses = 0.74 - 0.2 / (1 + np.exp(-(np.log10(rates) + 2) * 3)) + np.where(rates > 1, 5.0, 0)
    losses[:3] = [0.55, 0.76, 0.70]  # the smoothed loss of the first few batches jumps about
    losses += np.random.default_rng(0).normal(0, 0.004, len(rates))
    assert 1e-3 < analyse(rates, losses).suggested < 1e-1


def falling_curve():
    """A loss that falls fastest near 1e-3 and explodes past 0.3."""
    rates = np.logspace(-7, 0, 60)
    return rates, 2.3 - 2.0 / (1 + np.exp(-(np.log10(rates) + 3) * 3)) + np.where(rates > 0.3, 50 * rates, 0)


def test_a_loss_that_never_falls_gives_no_range():
    rates = np.logspace(-7, 1, 80)
    flat = np.full(len(rates), 0.4380001) + np.where(rates > 3, 10 * rates, 0)  # a trained model: flat, then blows up
    with pytest.raises(NoRangeFound, match="no range found: the loss never fell"):
        analyse(rates, flat)
    with pytest.raises(NoRangeFound):
        analyse(rates, flat + np.random.default_rng(0).normal(0, 0.002, len(rates)))  # noise is not a fall


@pytest.mark.parametrize("bounds, widen, expected, how", [
    ((1e-3, 0.1), False, (1e-3, "high"), "narrowed"),  # clipped to the current low
    ((1e-3, 0.1), True, ("low", "high"), "moved"),
    ((1e-3, 2e-3), False, (1e-3, 2e-3), "unchanged"),
    ((1e-3, 2e-3), True, ("low", "high"), "widened"),
    ((1e-9, 10.0), False, ("low", "high"), "narrowed"),
])
def test_a_range_stays_within_the_current_bounds_unless_widening_and_says_how_it_changed(bounds, widen, expected,
                                                                                          how):
    test = analyse(*falling_curve())
    recommended = {"low": float(f"{test.low:.3g}"), "high": float(f"{test.high:.3g}")}
    assert 1e-4 < recommended["low"] < 1e-3 < 2e-3 < recommended["high"] < 0.1
    definition = {"type": "float", "low": bounds[0], "high": bounds[1]}
    new = narrowed(definition, test, widen=widen)
    assert (new["low"], new["high"]) == tuple(recommended.get(e, e) for e in expected)
    assert change(definition, new) == how


def test_a_range_outside_the_current_bounds_is_refused_without_widening():
    with pytest.raises(InputError, match="lies outside the current bounds"):
        narrowed({"type": "float", "low": 0.5, "high": 1.0}, analyse(*falling_curve()))


LR_STUDY = """\
# tuned by hand: keep this comment
objective: {model: softmax, dataset: digits}   # the built-in model
params:
  # the rate
  learning_rate: {type: float, low: 0.5, high: 2.0, log: true}
  optimizer: {type: categorical, choices: [sgd]}
"""


def test_lr_find_write_widens_only_when_asked_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "study.yaml"
    path.write_text(LR_STUDY)
    assert main(["lr-find", str(path), "--write", "--steps", "60"]) == 0
    out = capsys.readouterr().out
    assert "within learning_rate's current bounds" in out and path.read_text() == LR_STUDY  # nothing to narrow
    assert main(["lr-find", str(path), "--write", "--widen", "--steps", "60"]) == 0
    out = capsys.readouterr().out
    bounds = yaml.safe_load(path.read_text())["params"]["learning_rate"]
    assert "params.learning_rate widened: 0.5 to 2 is now" in out and "narrowed" not in out
    assert bounds["low"] < 0.5 and bounds["high"] > 2.0
    text = path.read_text()
    assert "# tuned by hand: keep this comment" in text and "# the built-in model" in text and "# the rate" in text


def test_lr_find_on_a_flat_loss_suggests_nothing_and_writes_nothing(tmp_path, capsys, monkeypatch):
    from tui_tuner.objectives.estimator import EstimatorObjective

    rates = np.logspace(-7, 1, 80)
    monkeypatch.setattr(EstimatorObjective, "lr_range_test",  # what a trained best config gave on mlp_moons
                        lambda self, params, seed, steps=None: (rates, np.full(len(rates), 0.4380001)))
    path = tmp_path / "study.yaml"
    path.write_text(LR_STUDY.replace("0.5", "1.0e-6").replace("2.0", "10.0"))
    before = path.read_text()
    assert main(["lr-find", str(path), "--write"]) == 1
    captured = capsys.readouterr()
    assert "no range found" in captured.err and "nothing written" in captured.err
    assert "suggested" not in captured.out and path.read_text() == before


def test_lr_find_write_records_the_new_range_as_a_space_version_of_the_files_study(tmp_path, capsys, monkeypatch):
    from tui_tuner.spec import load_spec
    from tui_tuner.study import Study

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "study.yaml"
    path.write_text("""\
objective: {model: softmax, dataset: digits}
params:
  learning_rate: {type: float, low: 1.0e-6, high: 10.0, log: true}
  optimizer: {type: categorical, choices: [sgd]}
""")
    study = Study.create(load_spec(path))  # under runs/, where lr-find finds it
    study._release_lock()
    assert main(["lr-find", str(path), "--write", "--steps", "60"]) == 0
    assert "space version 2 (lr-find): learning_rate: low 1e-06 -> " in capsys.readouterr().out
    again = Study.open(study.directory)
    assert [(v.version, v.reason) for v in again.log.spaces] == [(1, "created"), (2, "lr-find")]
    assert again.spec.raw["params"]["learning_rate"] == yaml.safe_load(path.read_text())["params"]["learning_rate"]
    assert again.change_space(load_spec(path).raw["params"], "study file") == []  # run --resume: nothing more
