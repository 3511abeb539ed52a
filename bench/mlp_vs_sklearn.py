"""Our numpy MLP against scikit-learn's MLPClassifier, same architecture, optimizer, batch and epochs.

    python bench/mlp_vs_sklearn.py [--repeats 5] [--epochs 50] [--hidden 100] [--batch 200]

Digits, standardised, a fixed 75/25 split. Both train with adam (lr 1e-3) for exactly `--epochs` epochs
(scikit-learn's own early stop is switched off), alternating run by run in this process, one thread each;
the medians of fit time and test accuracy are compared. Target (issue 4): time ratio at most 1.0 with
test accuracy within 1 point.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from tui_tuner.models import MLPClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    ours = lambda seed: MLPClassifier(hidden_layers=1, hidden_units=args.hidden, activation="relu", optimizer="adam",
                                      learning_rate=1e-3, batch_size=args.batch, epochs=args.epochs, random_state=seed)
    theirs = lambda seed: SklearnMLP(hidden_layer_sizes=(args.hidden,), activation="relu", solver="adam",
                                     learning_rate_init=1e-3, batch_size=args.batch, max_iter=args.epochs, tol=0.0,
                                     n_iter_no_change=args.epochs + 1, random_state=seed)
    times = {"tui_tuner": [], "scikit-learn": []}
    accuracy = {"tui_tuner": [], "scikit-learn": []}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(args.repeats):
            for name, build in (("tui_tuner", ours), ("scikit-learn", theirs)):
                model = build(seed)
                start = time.perf_counter()
                model.fit(X_train, y_train)
                times[name].append(time.perf_counter() - start)
                accuracy[name].append(model.score(X_test, y_test))

    print(f"digits, {len(X_train)} train / {len(X_test)} test, 1x{args.hidden} relu, adam lr 1e-3, "
          f"batch {args.batch}, {args.epochs} epochs, {args.repeats} seeds, 1 thread")
    print(f"{'':14}{'median fit s':>14}{'median test acc':>17}")
    for name in times:
        print(f"{name:14}{statistics.median(times[name]):>14.3f}{statistics.median(accuracy[name]):>17.4f}")
    ratio = statistics.median(times["tui_tuner"]) / statistics.median(times["scikit-learn"])
    gap = 100 * (statistics.median(accuracy["tui_tuner"]) - statistics.median(accuracy["scikit-learn"]))
    print(f"time ratio (ours / scikit-learn): {ratio:.2f}  (target <= 1.0)")
    print(f"test accuracy difference: {gap:+.2f} points  (target within 1)")


if __name__ == "__main__":
    main()
