"""The LR range test: a suggestion near a known-good rate, the plot, and `lr-find --write` editing in place."""

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from tui_tuner.cli import main
from tui_tuner.lr_finder import analyse, narrow_study_file, plot
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
    narrow_study_file(path, 2.5e-3, 0.25)
    text = path.read_text()
    assert text.startswith("# my study\n") and "# wide" in text and "units: {type: int, low: 1, high: 9}" in text
    assert yaml.safe_load(text)["params"]["learning_rate"] == {"type": "float", "low": 2.5e-3, "high": 0.25,
                                                               "log": True}


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
